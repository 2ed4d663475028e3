-- Existing mappings (manual or auto) of the run's tenants: they win over every other rule.
SELECT m.sophos_customer_id::text AS sophos_customer_id, m.platform_org_id, m.method
  FROM sophos.customer_mappings m
 WHERE m.sophos_customer_id IN (SELECT sophos_customer_id FROM sophos.stage_tenants WHERE sync_run_id = %(sync_run_id)s)
