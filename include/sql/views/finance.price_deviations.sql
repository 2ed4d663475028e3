-- Where Sophos priced a line and the distributor's price list has an entry for it (same SKU and currency,
-- valid on the line's billingStartDate), and the two unit prices differ: Sophos's price stays the amount,
-- the list only audits it.
CREATE OR REPLACE VIEW finance.price_deviations AS
SELECT l.billing_month,
       l.sku,
       l.currency,
       l.unit_price AS sophos_unit_price,
       p.unit_price AS list_unit_price,
       count(*) AS lines,
       sum(l.billable_quantity) AS billable_quantity,
       sum((l.unit_price - p.unit_price) * l.billable_quantity) AS amount_difference
  FROM sophos.invoice_lines l
  JOIN platform.sophos_prices p
    ON p.sku = l.sku AND p.currency = l.currency
   AND l.billing_start_date >= p.valid_from AND (p.valid_to IS NULL OR l.billing_start_date <= p.valid_to)
 WHERE l.price_source = 'sophos' AND l.unit_price <> p.unit_price
 GROUP BY l.billing_month, l.sku, l.currency, l.unit_price, p.unit_price;

COMMENT ON VIEW finance.price_deviations IS
    'Sophos-priced lines whose unit price differs from the distributor''s price list entry for their SKU, '
    'currency and billing start: amount_difference = (Sophos - list) * billable_quantity, summed. The line''s '
    'amount stays Sophos''s.';

GRANT SELECT ON finance.price_deviations TO finance_reader;
