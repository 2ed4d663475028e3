# Quick start: `make demo` (a full monthly sync against the simulator) and `make test` (what CI runs).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
STAMP := $(VENV)/.installed-$(shell (cat requirements.txt requirements-dev.txt pyproject.toml; python3 --version) | sha1sum | cut -c1-12)

.PHONY: help venv lint test test-quick test-ui test-distributed demo airflow stop bench

help:
	@echo "make demo   run one monthly sync against the Sophos simulator and a local PostgreSQL"
	@echo "make test   run the whole test suite (what CI runs)"
	@echo "make lint   ruff (lint and format) and mypy, as CI runs them before the tests"
	@echo "make test-quick  the inner loop: unit and integration tests without whole-month runs (under 2 minutes)"
	@echo "make airflow  a local Airflow 3 UI (http://127.0.0.1:8080, admin/admin; support/support, viewer/viewer for the review page) running the DAG on the demo data"
	@echo "             EXECUTOR=celery: CeleryExecutor, Redis and two Celery workers instead of LocalExecutor"
	@echo "make test-ui  the Airflow stack and browser tests (installs Debian's chromium if missing)"
	@echo "make test-distributed  a month on CeleryExecutor with two workers, one killed mid-extract"
	@echo "make bench  benchmark a large month (SCALE=medium|large)"
	@echo "make stop   stop what make demo and make airflow left running"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@echo "installing requirements into $(VENV) (about two minutes on a fresh machine)"
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@# the sophos-sync distribution: no code, the entry point that registers the `sophos` connection type
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps .
	@# `python -m sophos_sync` and `python -m simulator` work from anywhere, like Airflow's plugins/ path
	@printf '%s\n%s\n' "$(CURDIR)/plugins" "$(CURDIR)" > $$($(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/sophos_sync_paths.pth
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

lint: venv
	@$(VENV)/bin/ruff check --quiet .
	@$(VENV)/bin/ruff format --check --quiet .
	@$(VENV)/bin/mypy

test: venv
	@scripts/test.sh

# Leaves out the tests marked e2e or slow in pytest.ini; `make test` still runs them, as CI does.
test-quick: venv
	@scripts/test.sh -m "not e2e and not slow"

demo: venv
	@scripts/demo.sh

airflow: venv
	@EXECUTOR=$(or $(EXECUTOR),local) scripts/airflow.sh

test-ui: venv
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@AIRFLOW__CORE__LOAD_EXAMPLES=False $(VENV)/bin/python -m pytest -m ui tests/ui

test-distributed: venv
	@AIRFLOW__CORE__LOAD_EXAMPLES=False $(VENV)/bin/python -m pytest -m distributed tests/distributed

stop:
	@scripts/stop.sh

PEER_VENV := .local/bench-peer-venv
PEER_STAMP := $(PEER_VENV)/.installed-$(shell cat bench/peer/requirements.txt | sha1sum | cut -c1-12)

$(PEER_STAMP): bench/peer/requirements.txt
	@test -x $(PEER_VENV)/bin/python || python3 -m venv $(PEER_VENV)
	@echo "installing the bench's dlt peer into $(PEER_VENV)"
	@$(PEER_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/peer/requirements.txt
	@rm -f $(PEER_VENV)/.installed-*
	@touch $@

bench: venv $(PEER_STAMP)
	@$(VENV)/bin/python -m devtools.bench --scale $(or $(SCALE),large)
