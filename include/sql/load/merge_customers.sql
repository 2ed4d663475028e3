-- Upsert the run's tenants into the customer mirror. last_seen_at moves on every run; "changed" ignores
-- it, so a rerun of the same data reports and alters nothing else. A reappearing customer loses removed_at.
WITH src AS (
    SELECT t.sophos_customer_id, t.name, t.show_as, t.partner_id, t.billing_type, t.data_region,
           t.data_geography, m.platform_org_id
    FROM sophos.stage_tenants t
    LEFT JOIN sophos.customer_mappings m USING (sophos_customer_id)
    WHERE t.sync_run_id = %(sync_run_id)s
), compared AS (
    SELECT src.*,
           c.sophos_customer_id IS NULL AS is_new,
           (c.name, c.show_as, c.partner_id, c.billing_type, c.data_region, c.data_geography,
            c.platform_org_id, c.removed_at)
           IS DISTINCT FROM
           (src.name, src.show_as, src.partner_id, src.billing_type, src.data_region, src.data_geography,
            src.platform_org_id, NULL::timestamptz) AS changed
    FROM src
    LEFT JOIN sophos.customers c USING (sophos_customer_id)
), upserted AS (
    INSERT INTO sophos.customers (sophos_customer_id, name, show_as, partner_id, billing_type, data_region,
                                  data_geography, platform_org_id, first_seen_at, last_seen_at, removed_at)
    SELECT sophos_customer_id, name, show_as, partner_id, billing_type, data_region, data_geography,
           platform_org_id, now(), now(), NULL
    FROM compared
    ON CONFLICT (sophos_customer_id) DO UPDATE SET
        name = EXCLUDED.name,
        show_as = EXCLUDED.show_as,
        partner_id = EXCLUDED.partner_id,
        billing_type = EXCLUDED.billing_type,
        data_region = EXCLUDED.data_region,
        data_geography = EXCLUDED.data_geography,
        platform_org_id = EXCLUDED.platform_org_id,
        last_seen_at = EXCLUDED.last_seen_at,
        removed_at = NULL
)
SELECT count(*) FILTER (WHERE is_new) AS inserted,
       count(*) FILTER (WHERE changed AND NOT is_new) AS updated
FROM compared
