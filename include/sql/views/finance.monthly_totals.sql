-- Finance's monthly figures, from its view of the invoice lines.
CREATE OR REPLACE VIEW finance.monthly_totals AS
SELECT billing_month,
       seller_id,
       seller_name,
       platform_org_id,
       organization_name,
       currency,
       count(*) AS line_count,
       sum(line_amount) AS total_amount
FROM finance.invoice_lines
GROUP BY billing_month, seller_id, seller_name, platform_org_id, organization_name, currency;

COMMENT ON VIEW finance.monthly_totals IS
    'Per billing month, seller, organization (null: unmapped) and currency: line count and sum of line_amount.';

GRANT SELECT ON finance.monthly_totals TO finance_reader;
