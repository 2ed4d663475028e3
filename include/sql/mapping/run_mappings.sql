-- Existing mappings (manual or auto) of the run's tenants, with the seller their organization belongs to
-- now: they win over every other rule while that is the customer's own seller.
SELECT m.sophos_customer_id::text AS sophos_customer_id, m.platform_org_id, m.method, o.seller_id AS org_seller_id
  FROM sophos.customer_mappings m
  LEFT JOIN platform.customer_organizations o ON o.org_id = m.platform_org_id
 WHERE m.sophos_customer_id IN (SELECT sophos_customer_id FROM sophos.stage_tenants WHERE sync_run_id = %(sync_run_id)s)
