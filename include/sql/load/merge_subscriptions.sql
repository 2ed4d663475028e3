-- Upsert the licences of mapped customers into the subscription mirror, deriving their status
-- (docs/architecture.md, Table contracts). The account status of a customer comes from this month's billing lines, the
-- worst one winning (canceled > suspended > active); "ended" is judged at %(reference_date)s, the
-- billing month's last day, so a rerun or a backfill decides the same way whenever it runs.
-- last_seen_at moves on every run; "changed" ignores it.
WITH account_status AS (
    SELECT sophos_customer_id,
           max(CASE account_status WHEN 'canceled' THEN 3 WHEN 'suspended' THEN 2 ELSE 1 END) AS severity
    FROM sophos.stage_billing_lines
    WHERE sync_run_id = %(sync_run_id)s AND sophos_customer_id IS NOT NULL
    GROUP BY sophos_customer_id
), src AS (
    SELECT l.subscription_id, l.license_identifier, l.sophos_customer_id, m.platform_org_id,
           l.product_code, l.product_name, l.type, l.quantity, l.usage_count, l.start_date, l.end_date,
           CASE
               WHEN l.end_date < %(reference_date)s OR a.severity = 3 THEN 'cancelled'
               WHEN a.severity = 2 THEN 'suspended'
               ELSE 'active'
           END AS status
    FROM sophos.stage_licenses l
    JOIN sophos.customer_mappings m USING (sophos_customer_id)
    LEFT JOIN account_status a USING (sophos_customer_id)
    WHERE l.sync_run_id = %(sync_run_id)s
), compared AS (
    SELECT src.*,
           s.subscription_id IS NULL AS is_new,
           (s.license_identifier, s.sophos_customer_id, s.platform_org_id, s.product_code, s.product_name,
            s.type, s.quantity, s.usage_count, s.start_date, s.end_date, s.status)
           IS DISTINCT FROM
           (src.license_identifier, src.sophos_customer_id, src.platform_org_id, src.product_code,
            src.product_name, src.type, src.quantity, src.usage_count, src.start_date, src.end_date,
            src.status) AS changed
    FROM src
    LEFT JOIN sophos.subscriptions s USING (subscription_id)
), upserted AS (
    INSERT INTO sophos.subscriptions (subscription_id, license_identifier, sophos_customer_id, platform_org_id,
                                      product_code, product_name, type, quantity, usage_count, start_date,
                                      end_date, status, first_seen_at, last_seen_at)
    SELECT subscription_id, license_identifier, sophos_customer_id, platform_org_id, product_code,
           product_name, type, quantity, usage_count, start_date, end_date, status, now(), now()
    FROM compared
    ON CONFLICT (subscription_id) DO UPDATE SET
        license_identifier = EXCLUDED.license_identifier,
        sophos_customer_id = EXCLUDED.sophos_customer_id,
        platform_org_id = EXCLUDED.platform_org_id,
        product_code = EXCLUDED.product_code,
        product_name = EXCLUDED.product_name,
        type = EXCLUDED.type,
        quantity = EXCLUDED.quantity,
        usage_count = EXCLUDED.usage_count,
        start_date = EXCLUDED.start_date,
        end_date = EXCLUDED.end_date,
        status = EXCLUDED.status,
        last_seen_at = EXCLUDED.last_seen_at
)
SELECT count(*) FILTER (WHERE is_new) AS inserted,
       count(*) FILTER (WHERE changed AND NOT is_new) AS updated
FROM compared
