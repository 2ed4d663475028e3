-- Subscriptions whose licence is gone from Sophos become cancelled (never deleted). Gone means: not in
-- this run although its customer's licences were fetched this run (the tenant is listed and its licence
-- call was not skipped, e.g. on 403) and validation did not reject it; or its customer was removed.
-- A bad row or a refused call is not evidence that a licence ended.
UPDATE sophos.subscriptions s
SET status = 'cancelled'
WHERE s.status <> 'cancelled'
  AND NOT EXISTS (
      SELECT 1 FROM sophos.stage_licenses l
      WHERE l.sync_run_id = %(sync_run_id)s AND l.subscription_id = s.subscription_id)
  AND (
      EXISTS (
          SELECT 1 FROM sophos.customers c
          WHERE c.sophos_customer_id = s.sophos_customer_id AND c.removed_at IS NOT NULL)
      OR (
          EXISTS (
              SELECT 1 FROM sophos.stage_tenants t
              WHERE t.sync_run_id = %(sync_run_id)s AND t.sophos_customer_id = s.sophos_customer_id)
          AND NOT EXISTS (
              SELECT 1
              FROM sophos.landing_batches b
              CROSS JOIN LATERAL jsonb_array_elements(b.skipped) AS skipped(item)
              WHERE b.sync_run_id = %(sync_run_id)s AND b.entity = 'license'
                AND lower(skipped.item->>'tenant_id') = s.sophos_customer_id::text)
          AND NOT EXISTS (
              SELECT 1 FROM sophos.rejected_records r
              WHERE r.sync_run_id = %(sync_run_id)s AND r.entity = 'license'
                AND lower(r.source_key) = s.subscription_id::text)))
