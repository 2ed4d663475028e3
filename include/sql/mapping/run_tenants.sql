-- The tenants (Sophos customers) a run saw, as mapping.decide() reads them.
SELECT sophos_customer_id::text AS sophos_customer_id, name, show_as, partner_id::text AS partner_id
  FROM sophos.stage_tenants
 WHERE sync_run_id = %(sync_run_id)s
 ORDER BY sophos_customer_id
