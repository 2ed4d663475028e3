-- Every invoice line with the names Finance reports by. The seller is the one whose Partner Tenant ID
-- (platform.sellers.sophos_partner_id) is the line's Sophos partner; seller and organization are null
-- while unknown or unmapped. Views run with their owner's rights, so finance_reader needs no right on
-- sophos.* or platform.*. New columns go at the end: CREATE OR REPLACE VIEW keeps existing ones in place.
CREATE OR REPLACE VIEW finance.invoice_lines AS
SELECT l.billing_month,
       l.line_key,
       l.sophos_customer_id,
       c.name AS customer_name,
       l.partner_id,
       s.seller_id,
       s.name AS seller_name,
       l.platform_org_id,
       o.name AS organization_name,
       l.partner_account_id,
       l.partner_account_name,
       l.order_number,
       l.order_line_item_number,
       l.account_number_or_serial_number,
       l.sku,
       l.product_code,
       l.product_description,
       l.product_group,
       l.billable_quantity,
       l.actual_quantity,
       l.ordered_quantity,
       l.unit_price,
       l.net_price,
       l.line_amount,
       l.currency,
       l.account_status,
       l.billing_start_date,
       l.billing_end_date,
       l.sync_run_id,
       l.contract_currency,
       l.currency_mismatch,
       l.unit_msrp,
       l.price_with_taxes,
       l.additional_discount_percentage
FROM sophos.invoice_lines l
LEFT JOIN sophos.customers c ON c.sophos_customer_id = l.sophos_customer_id
LEFT JOIN platform.sellers s ON s.sophos_partner_id = l.partner_id
LEFT JOIN platform.customer_organizations o ON o.org_id = l.platform_org_id;

COMMENT ON VIEW finance.invoice_lines IS
    'Every Sophos billing usage line of every loaded month, mapped or not, with customer, seller and '
    'organization names. line_amount = net_price * billable_quantity.';
COMMENT ON COLUMN finance.invoice_lines.currency_mismatch IS
    'true when the line is billed in another currency than the distributor contract''s (connection extra "currency").';
COMMENT ON COLUMN finance.invoice_lines.line_amount IS
    'net_price * billable_quantity: netPrice read as the price of one unit. Sophos''s documentation does not say '
    'whether netPrice is per unit or per line; its example has netPrice = unitPrice with 20 units, which only a '
    'per-unit price explains. unit_price, net_price, unit_msrp, price_with_taxes and '
    'additional_discount_percentage are kept as Sophos sent them, so the rule can be checked line by line.';
COMMENT ON COLUMN finance.invoice_lines.additional_discount_percentage IS
    'Percent, as Sophos sends it (a JSON number such as 25), read exactly into numeric(9, 4).';

GRANT SELECT ON finance.invoice_lines TO finance_reader;
