-- A finished run's landing and staging rows are no longer needed; the run row, its counts and its
-- rejected records stay as the run's report.
WITH landing AS (
    DELETE FROM sophos.landing_records WHERE sync_run_id = %(sync_run_id)s RETURNING 1
), pages AS (
    DELETE FROM sophos.landing_pages WHERE sync_run_id = %(sync_run_id)s RETURNING 1
), batches AS (
    DELETE FROM sophos.landing_batches WHERE sync_run_id = %(sync_run_id)s RETURNING 1
), tenants AS (
    DELETE FROM sophos.stage_tenants WHERE sync_run_id = %(sync_run_id)s RETURNING 1
), licenses AS (
    DELETE FROM sophos.stage_licenses WHERE sync_run_id = %(sync_run_id)s RETURNING 1
), lines AS (
    DELETE FROM sophos.stage_billing_lines WHERE sync_run_id = %(sync_run_id)s RETURNING 1
), decisions AS (
    DELETE FROM sophos.stage_customer_decisions WHERE sync_run_id = %(sync_run_id)s RETURNING 1
)
SELECT (SELECT count(*) FROM landing) + (SELECT count(*) FROM pages) + (SELECT count(*) FROM batches) + (SELECT count(*) FROM tenants)
     + (SELECT count(*) FROM licenses) + (SELECT count(*) FROM lines) + (SELECT count(*) FROM decisions)
