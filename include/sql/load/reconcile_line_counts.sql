-- The count side of reconciliation besides the loaded lines (load/reconcile_loaded): what the run rejected
-- and collapsed, against what the API announced (pages.items; the received count where the API gave none).
SELECT
    -- validate counts the records it rejected: rejected_records has one row per failed check, and two
    -- conflicting copies of a line share one key while being two lines
    (SELECT coalesce((counts->'validate'->'billing_usage'->>'rejected')::bigint, 0)
     FROM sophos.sync_runs WHERE sync_run_id = %(sync_run_id)s) AS rejected,
    (SELECT coalesce((counts->'validate'->'billing_usage'->>'collapsed_duplicates')::bigint, 0)
     FROM sophos.sync_runs WHERE sync_run_id = %(sync_run_id)s) AS collapsed_duplicates,
    (SELECT sum(coalesce(reported_count, record_count)) FROM sophos.landing_batches
     WHERE sync_run_id = %(sync_run_id)s AND entity = 'billing_usage') AS reported
