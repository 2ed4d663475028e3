# Quick start: `make demo` (a full monthly sync against the simulator) and `make test` (what CI runs).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
STAMP := $(VENV)/.installed-$(shell (cat requirements.txt; python3 --version) | sha1sum | cut -c1-12)

.PHONY: help venv test demo stop bench migrate

help:
	@echo "make demo   run one monthly sync against the Sophos simulator and a local PostgreSQL"
	@echo "make test   run the whole test suite (what CI runs)"
	@echo "make bench  benchmark a large month (SCALE=medium|large)"
	@echo "make stop   stop the demo's PostgreSQL and simulator"

$(STAMP): requirements.txt
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@echo "installing requirements into $(VENV) (about a minute on a fresh machine)"
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	@# `python -m sophos_sync` and `python -m simulator` work from anywhere, like Airflow's plugins/ path
	@printf '%s\n%s\n' "$(CURDIR)/plugins" "$(CURDIR)" > $$($(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/sophos_sync_paths.pth
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

test: venv
	@scripts/test.sh

demo: venv
	@scripts/demo.sh

stop:
	@scripts/stop.sh

bench: venv
	@$(VENV)/bin/python -m sophos_sync bench --scale $(or $(SCALE),large)
