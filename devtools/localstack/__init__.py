"""Run the real DAG on this machine, against a local PostgreSQL and the Sophos simulator.

environment  Airflow's environment: project folders, metadata DB, executor, logins, AIRFLOW_CONN_* connections
airflow_cli  the `airflow` command of this venv: metadata DB migrated, `airflow dags test`
components   the long-running components of the local stack, started, found and stopped by pid file
api          the REST API v2 of a running api-server
up           `make airflow` (`python -m devtools.localstack up`): the stack up and a demo run awaited
"""
