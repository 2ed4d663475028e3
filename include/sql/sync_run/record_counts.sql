-- One stage's counts under its own key; what other stages recorded stays.
UPDATE sophos.sync_runs SET counts = counts || jsonb_build_object(%(stage)s::text, %(counts)s::jsonb)
WHERE sync_run_id = %(sync_run_id)s
