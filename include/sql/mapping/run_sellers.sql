-- The sellers whose Sophos partner id appears among the run's tenants (the only ones that can match).
SELECT s.seller_id, s.name, s.sophos_partner_id::text AS sophos_partner_id
  FROM platform.sellers s
 WHERE s.sophos_partner_id IN (SELECT partner_id FROM sophos.stage_tenants WHERE sync_run_id = %(sync_run_id)s)
