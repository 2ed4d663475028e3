SELECT DISTINCT source_key
FROM sophos.rejected_records
WHERE sync_run_id = %(sync_run_id)s AND entity = 'billing_usage' AND source_key IS NOT NULL
