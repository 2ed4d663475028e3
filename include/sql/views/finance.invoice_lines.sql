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
       l.additional_discount_percentage,
       l.price_source,
       l.amount_missing_reason
FROM sophos.invoice_lines l
LEFT JOIN sophos.customers c ON c.sophos_customer_id = l.sophos_customer_id
LEFT JOIN platform.sellers s ON s.sophos_partner_id = l.partner_id
LEFT JOIN platform.customer_organizations o ON o.org_id = l.platform_org_id;

COMMENT ON VIEW finance.invoice_lines IS
    'Every Sophos billing usage line of every loaded month, mapped or not, with customer, seller and '
    'organization names. line_amount = unit_price * billable_quantity.';
COMMENT ON COLUMN finance.invoice_lines.currency_mismatch IS
    'true when the line is billed in another currency than the distributor contract''s (connection extra "currency").';
COMMENT ON COLUMN finance.invoice_lines.line_amount IS
    'unit_price * billable_quantity, exact; negative on a credit line; null (never 0) when the line has no unit '
    'price, amount_missing_reason says why. The rule is Sophos''s own: the only public code that prices this '
    'report (a 2026 billing tool by a Sophos developer, Aaronjacobs000/sophos-central-mcp) computes '
    'billableQuantity * unitPrice and reads netPrice as the order line''s total shared by its customers, and '
    'distributor marketplaces price Sophos''s monthly file from its Unit Price. It replaced net_price * '
    'billable_quantity (migration 0009), which read netPrice as a unit price. net_price is kept as Sophos sent '
    'it and checked per order line in finance.order_line_checks.';
COMMENT ON COLUMN finance.invoice_lines.additional_discount_percentage IS
    'Percent, as Sophos sends it (a JSON number such as 25), read exactly into numeric(9, 4).';
COMMENT ON COLUMN finance.invoice_lines.price_source IS
    'where unit_price comes from: sophos (the billing report) or price_list (platform.sophos_prices, imported '
    'with python -m sophos_sync prices import); null when the line has no price.';
COMMENT ON COLUMN finance.invoice_lines.amount_missing_reason IS
    'why line_amount is null: no_unit_price (Sophos sent only a netPrice) or no_price (Sophos sent no price), and '
    'no price list entry values the line.';

GRANT SELECT ON finance.invoice_lines TO finance_reader;
