SELECT billing_month, status, started_at, finished_at, counts, dag_run_id
FROM sophos.sync_runs WHERE sync_run_id = %(sync_run_id)s
