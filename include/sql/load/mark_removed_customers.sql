-- Customers Sophos no longer lists are marked once, never deleted. A tenant that validation rejected
-- this run is still there in Sophos: it is not marked.
UPDATE sophos.customers c
SET removed_at = now()
WHERE c.removed_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM sophos.stage_tenants t
      WHERE t.sync_run_id = %(sync_run_id)s AND t.sophos_customer_id = c.sophos_customer_id)
  AND NOT EXISTS (
      SELECT 1 FROM sophos.rejected_records r
      WHERE r.sync_run_id = %(sync_run_id)s AND r.entity = 'tenant'
        AND lower(r.source_key) = c.sophos_customer_id::text)
