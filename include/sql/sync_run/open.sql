-- A cleared and re-run DAG run reuses its row, and starts over as 'running'.
INSERT INTO sophos.sync_runs (dag_run_id, billing_month) VALUES (%(dag_run_id)s, %(billing_month)s)
ON CONFLICT (dag_run_id, billing_month)
DO UPDATE SET status = 'running', started_at = now(), finished_at = NULL
RETURNING sync_run_id
