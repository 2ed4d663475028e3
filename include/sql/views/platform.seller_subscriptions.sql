-- A seller sees a subscription only under the organization its customer is mapped to now: when the sync
-- takes a mapping out of use (seller_changed), its subscriptions leave the old seller's page at once.
CREATE OR REPLACE VIEW platform.seller_subscriptions AS
SELECT o.seller_id,
       s.platform_org_id,
       o.name AS organization_name,
       s.subscription_id,
       s.license_identifier,
       s.product_code,
       s.product_name,
       s.type,
       s.quantity,
       s.usage_count,
       s.start_date,
       s.end_date,
       s.status,
       s.last_seen_at
FROM sophos.subscriptions s
JOIN sophos.customer_mappings m
  ON m.sophos_customer_id = s.sophos_customer_id AND m.platform_org_id = s.platform_org_id
JOIN platform.customer_organizations o ON o.org_id = s.platform_org_id
WHERE s.hidden_at IS NULL;

COMMENT ON VIEW platform.seller_subscriptions IS
    'Sophos subscriptions as sellers see them: those hidden by a Distributor Admin are left out.';
