-- counts are merged key by key: what earlier stages recorded stays unless the same key is given again.
UPDATE sophos.sync_runs
SET status = %(status)s, finished_at = now(), counts = counts || %(counts)s
WHERE sync_run_id = %(sync_run_id)s
