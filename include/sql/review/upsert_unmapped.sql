-- Record the run's unmapped customers for Support: insert new ones, refresh known ones, reopen a
-- resolved one (its mapping is gone) with the reopening kept in review.mapping_changes. Never deletes.
-- The figures (subscriptions, amount, currency) describe the run's billing month and are replaced only
-- by those of the same or a later month, so a backfill never overwrites newer figures.
WITH unmapped AS (
    SELECT d.sophos_customer_id, d.partner_id, d.seller_id, d.reason, d.candidates, t.name
      FROM sophos.stage_customer_decisions d
      JOIN sophos.stage_tenants t ON t.sync_run_id = d.sync_run_id AND t.sophos_customer_id = d.sophos_customer_id
     WHERE d.sync_run_id = %(sync_run_id)s
       AND d.outcome = 'unmapped'
       -- mapped since the decision was taken (e.g. Support resolved it meanwhile): no longer unmapped. A
       -- seller_changed customer still has the mapping the load will take out of use.
       AND (d.reason = 'seller_changed'
            OR NOT EXISTS (SELECT 1 FROM sophos.customer_mappings m WHERE m.sophos_customer_id = d.sophos_customer_id))
),
subscriptions AS (
    SELECT l.sophos_customer_id, count(*) AS subscription_count
      FROM sophos.stage_licenses l
     WHERE l.sync_run_id = %(sync_run_id)s
     GROUP BY l.sophos_customer_id
),
per_currency AS (
    SELECT b.sophos_customer_id, b.currency, sum(b.unit_price * b.billable_quantity) AS amount, count(*) AS lines
      FROM sophos.stage_billing_lines b
     WHERE b.sync_run_id = %(sync_run_id)s AND b.sophos_customer_id IS NOT NULL
     GROUP BY b.sophos_customer_id, b.currency
),
-- the currency most of the customer's lines are in (then the larger amount, then alphabetical)
main_currency AS (
    SELECT DISTINCT ON (sophos_customer_id) sophos_customer_id, currency, amount
      FROM per_currency
     ORDER BY sophos_customer_id, currency IS NULL, lines DESC, amount DESC NULLS LAST, currency
),
previous AS (
    SELECT r.sophos_customer_id, r.status, r.resolved_org_id
      FROM review.unmapped_customers r
      JOIN unmapped u ON u.sophos_customer_id = r.sophos_customer_id
),
upserted AS (
    INSERT INTO review.unmapped_customers AS r
        (sophos_customer_id, customer_name, partner_id, seller_id, reason, candidates, subscription_count,
         billed_amount, currency, billed_month, first_seen_at, last_seen_at, status)
    SELECT u.sophos_customer_id, u.name, u.partner_id, u.seller_id, u.reason, u.candidates,
           coalesce(s.subscription_count, 0), c.amount, c.currency, %(billing_month)s::date, now(), now(), 'open'
      FROM unmapped u
      LEFT JOIN subscriptions s ON s.sophos_customer_id = u.sophos_customer_id
      LEFT JOIN main_currency c ON c.sophos_customer_id = u.sophos_customer_id
    ON CONFLICT (sophos_customer_id) DO UPDATE SET
        customer_name = EXCLUDED.customer_name,
        partner_id = EXCLUDED.partner_id,
        seller_id = EXCLUDED.seller_id,
        reason = EXCLUDED.reason,
        candidates = EXCLUDED.candidates,
        subscription_count = CASE WHEN r.billed_month IS NULL OR EXCLUDED.billed_month >= r.billed_month
                                  THEN EXCLUDED.subscription_count ELSE r.subscription_count END,
        billed_amount = CASE WHEN r.billed_month IS NULL OR EXCLUDED.billed_month >= r.billed_month
                            THEN EXCLUDED.billed_amount ELSE r.billed_amount END,
        currency = CASE WHEN r.billed_month IS NULL OR EXCLUDED.billed_month >= r.billed_month
                        THEN EXCLUDED.currency ELSE r.currency END,
        billed_month = greatest(r.billed_month, EXCLUDED.billed_month),
        last_seen_at = EXCLUDED.last_seen_at,
        status = 'open',
        resolved_org_id = NULL,
        resolved_by = NULL,
        resolved_at = NULL
    RETURNING r.sophos_customer_id
),
reopened AS (
    INSERT INTO review.mapping_changes (sophos_customer_id, event, previous_org_id, changed_by)
    SELECT p.sophos_customer_id, 'reopened', p.resolved_org_id, 'sync run ' || %(sync_run_id)s::text
      FROM previous p
     WHERE p.status = 'resolved'
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted) - (SELECT count(*) FROM previous) AS inserted,
       (SELECT count(*) FROM previous) AS updated,
       (SELECT count(*) FROM reopened) AS reopened
