-- A rerun of the mapping task replaces the run's decisions.
DELETE FROM sophos.stage_customer_decisions WHERE sync_run_id = %(sync_run_id)s
