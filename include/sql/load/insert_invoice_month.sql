-- Every valid billing line of the run, mapped or not. The seller is the tenant's partner.id; a line
-- without a (listed) tenant falls back to the partner id of the credential that fetched it. The contract
-- currency is the one configured on that credential's connection.
-- A line Sophos sent without a unit price is valued from the distributor's price list: the entry for its
-- SKU in its currency (its own, else the contract's, as validation set it) valid on its billing start; a
-- line with no currency at all only when the list prices its SKU in exactly one currency, which it takes.
WITH single_currency AS (
    SELECT sku, min(currency) AS currency
      FROM platform.sophos_prices
     GROUP BY sku
    HAVING count(DISTINCT currency) = 1
)
INSERT INTO sophos.invoice_lines (
    billing_month, line_key, sophos_customer_id, platform_org_id, partner_id, account,
    partner_account_id, partner_account_name, order_number, order_line_item_number,
    account_number_or_serial_number, sku, product_code, product_description, product_group,
    billable_quantity, actual_quantity, ordered_quantity, unit_price, price_source, net_price, unit_msrp,
    price_with_taxes, additional_discount_percentage, currency, account_status, external_id,
    distributor_account_name, billing_start_date, billing_end_date, sync_run_id, contract_currency)
SELECT %(billing_month)s, l.line_key, l.sophos_customer_id, m.platform_org_id,
       coalesce(t.partner_id, b.partner_id::uuid), l.account,
       l.partner_account_id, l.partner_account_name, l.order_number, l.order_line_item_number,
       l.account_number_or_serial_number, l.sku, l.product_code, l.product_description, l.product_group,
       l.billable_quantity, l.actual_quantity, l.ordered_quantity,
       coalesce(l.unit_price, p.unit_price),
       CASE WHEN l.unit_price IS NOT NULL THEN 'sophos' WHEN p.unit_price IS NOT NULL THEN 'price_list' END,
       l.net_price, l.unit_msrp, l.price_with_taxes, l.additional_discount_percentage,
       coalesce(l.currency, p.currency), l.account_status, l.external_id,
       l.distributor_account_name, l.billing_start_date, l.billing_end_date, l.sync_run_id, b.contract_currency
FROM sophos.stage_billing_lines l
LEFT JOIN sophos.customer_mappings m ON m.sophos_customer_id = l.sophos_customer_id
LEFT JOIN sophos.stage_tenants t ON t.sync_run_id = l.sync_run_id AND t.sophos_customer_id = l.sophos_customer_id
LEFT JOIN sophos.landing_batches b
       ON b.sync_run_id = l.sync_run_id AND b.account = l.account AND b.entity = 'billing_usage'
LEFT JOIN single_currency s ON l.unit_price IS NULL AND l.currency IS NULL AND s.sku = l.sku
LEFT JOIN platform.sophos_prices p
       ON l.unit_price IS NULL AND p.sku = l.sku AND p.currency = coalesce(l.currency, s.currency)
      AND l.billing_start_date >= p.valid_from AND (p.valid_to IS NULL OR l.billing_start_date <= p.valid_to)
WHERE l.sync_run_id = %(sync_run_id)s
