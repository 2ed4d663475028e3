-- Raw API records carry personal data (tenant and billing contacts). After a run has loaded its month:
-- the landing rows of failed runs of that month go (the month they were for is loaded now), and so do
-- those of any run that never succeeded and started before the landing retention; rejected records keep
-- their raw JSON for Support until the rejected retention, then go. Runs still in flight are left alone.
WITH stale_runs AS (
    SELECT sync_run_id FROM sophos.sync_runs
    WHERE sync_run_id <> %(sync_run_id)s
      AND ((status = 'failed' AND billing_month = (SELECT billing_month FROM sophos.sync_runs
                                                   WHERE sync_run_id = %(sync_run_id)s))
           OR (status <> 'succeeded' AND started_at < now() - make_interval(days => %(landing_days)s)))
), landing AS (
    DELETE FROM sophos.landing_records WHERE sync_run_id IN (SELECT sync_run_id FROM stale_runs) RETURNING 1
), pages AS (
    DELETE FROM sophos.landing_pages WHERE sync_run_id IN (SELECT sync_run_id FROM stale_runs) RETURNING 1
), batches AS (
    DELETE FROM sophos.landing_batches WHERE sync_run_id IN (SELECT sync_run_id FROM stale_runs) RETURNING 1
), rejected AS (
    DELETE FROM sophos.rejected_records WHERE rejected_at < now() - make_interval(days => %(rejected_days)s)
    RETURNING 1
)
SELECT (SELECT count(*) FROM landing) + (SELECT count(*) FROM pages) + (SELECT count(*) FROM batches), (SELECT count(*) FROM rejected)
