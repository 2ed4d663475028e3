INSERT INTO sophos.mirror_state (singleton, as_of_month, sync_run_id, updated_at)
VALUES (true, %(billing_month)s, %(sync_run_id)s, now())
ON CONFLICT (singleton) DO UPDATE SET
    as_of_month = EXCLUDED.as_of_month, sync_run_id = EXCLUDED.sync_run_id, updated_at = EXCLUDED.updated_at
