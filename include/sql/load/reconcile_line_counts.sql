-- The count side of reconciliation: what the run loaded, rejected and collapsed, against what the
-- API announced (pages.items; the received count where the API gave none).
SELECT
    (SELECT count(*) FROM sophos.invoice_lines
     WHERE billing_month = %(billing_month)s AND sync_run_id = %(sync_run_id)s) AS loaded,
    -- a line failing several checks is one line; one without a key (not a JSON object) is one line each
    (SELECT count(DISTINCT source_key) + count(*) FILTER (WHERE source_key IS NULL) FROM sophos.rejected_records
     WHERE sync_run_id = %(sync_run_id)s AND entity = 'billing_usage') AS rejected,
    (SELECT coalesce((counts->'validate'->'billing_usage'->>'collapsed_duplicates')::bigint, 0)
     FROM sophos.sync_runs WHERE sync_run_id = %(sync_run_id)s) AS collapsed_duplicates,
    (SELECT sum(coalesce(reported_count, record_count)) FROM sophos.landing_batches
     WHERE sync_run_id = %(sync_run_id)s AND entity = 'billing_usage') AS reported
