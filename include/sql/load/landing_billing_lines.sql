-- The raw billing lines as the API sent them, for the independent money check.
SELECT raw::text
FROM sophos.landing_records
WHERE sync_run_id = %(sync_run_id)s AND entity = 'billing_usage'
