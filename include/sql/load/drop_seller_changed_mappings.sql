-- Mappings the run found pointing at an organization of another seller than the customer's current one
-- (reason seller_changed) are taken out of use, so no subscription or invoice line is loaded under them.
-- Re-checked here, under the load lock: a mapping Support corrected since the decision is kept. The removed
-- mapping stays in review.mapping_changes; the customer is on Support's list again.
WITH stale AS (
    SELECT m.sophos_customer_id, m.platform_org_id, m.method, m.mapped_by
      FROM sophos.stage_customer_decisions d
      JOIN sophos.customer_mappings m ON m.sophos_customer_id = d.sophos_customer_id
      LEFT JOIN platform.customer_organizations o ON o.org_id = m.platform_org_id
      LEFT JOIN platform.sellers s ON s.sophos_partner_id = d.partner_id
     WHERE d.sync_run_id = %(sync_run_id)s
       AND d.reason = 'seller_changed'
       AND (s.seller_id IS NULL OR o.seller_id IS DISTINCT FROM s.seller_id)
),
dropped AS (
    DELETE FROM sophos.customer_mappings m
     USING stale
     WHERE m.sophos_customer_id = stale.sophos_customer_id
    RETURNING m.sophos_customer_id
)
INSERT INTO review.mapping_changes
    (sophos_customer_id, event, previous_org_id, previous_method, previous_mapped_by, changed_by)
SELECT stale.sophos_customer_id, 'seller_changed', stale.platform_org_id, stale.method, stale.mapped_by,
       'sync run ' || %(sync_run_id)s::text
  FROM stale
  JOIN dropped USING (sophos_customer_id)
