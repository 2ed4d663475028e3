-- Finance's monthly figures, from its view of the invoice lines.
CREATE OR REPLACE VIEW finance.monthly_totals AS
SELECT billing_month,
       seller_id,
       seller_name,
       platform_org_id,
       organization_name,
       currency,
       count(*) AS line_count,
       sum(line_amount) AS total_amount,
       count(*) FILTER (WHERE line_amount IS NULL) AS unpriced_lines
FROM finance.invoice_lines
GROUP BY billing_month, seller_id, seller_name, platform_org_id, organization_name, currency;

COMMENT ON VIEW finance.monthly_totals IS
    'Per billing month, seller, organization (null: unmapped) and currency: line count, sum of line_amount, '
    'and the lines without an amount (not in the sum: no price from Sophos or the price list).';

GRANT SELECT ON finance.monthly_totals TO finance_reader;
