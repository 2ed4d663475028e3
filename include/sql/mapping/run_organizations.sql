-- The customer organizations of the sellers of the run's tenants (exact-match and candidate pool).
SELECT o.org_id, o.seller_id, o.name
  FROM platform.customer_organizations o
  JOIN platform.sellers s ON s.seller_id = o.seller_id
 WHERE s.sophos_partner_id IN (SELECT partner_id FROM sophos.stage_tenants WHERE sync_run_id = %(sync_run_id)s)
