-- Only a run still running: a run that already succeeded (or failed) keeps its outcome.
UPDATE sophos.sync_runs
SET status = 'failed', finished_at = now(), counts = counts || jsonb_build_object('error', %(message)s::jsonb)
WHERE dag_run_id = %(dag_run_id)s AND status = 'running'
