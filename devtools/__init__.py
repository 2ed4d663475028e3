"""Development tooling: the demo, the local Airflow stack and the benchmark.

Never deployed with the product (`plugins/sophos_sync/` is): these drive the product against the Sophos
simulator (`simulator/`) and throwaway PostgreSQL servers, for `make demo`, `make airflow`, `make bench` and the tests.
"""
