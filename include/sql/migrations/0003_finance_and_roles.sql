-- Finance's views of the invoice lines and the two roles of DESIGN.md section 4.
-- Views run with their owner's rights, so finance_reader needs no right on sophos.* or platform.*.

-- Every invoice line with the names Finance reports by. The seller is the one whose Partner Tenant ID
-- (platform.sellers.sophos_partner_id) is the line's Sophos partner; seller and organization are null
-- while unknown or unmapped. line_amount = net_price * billable_quantity.
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
       l.sync_run_id
FROM sophos.invoice_lines l
LEFT JOIN sophos.customers c ON c.sophos_customer_id = l.sophos_customer_id
LEFT JOIN platform.sellers s ON s.sophos_partner_id = l.partner_id
LEFT JOIN platform.customer_organizations o ON o.org_id = l.platform_org_id;

COMMENT ON VIEW finance.invoice_lines IS
    'Every Sophos billing usage line of every loaded month, mapped or not, with customer, seller and '
    'organization names. line_amount = net_price * billable_quantity.';

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

-- Roles are cluster-wide: another database of the cluster (or a concurrent migration) may have created
-- them already. NOLOGIN: people and services log in as their own users and are granted these.
DO $$
BEGIN
    CREATE ROLE finance_reader NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

DO $$
BEGIN
    CREATE ROLE support_agent NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

GRANT USAGE ON SCHEMA finance TO finance_reader;
GRANT SELECT ON finance.invoice_lines, finance.monthly_totals TO finance_reader;

GRANT USAGE ON SCHEMA review TO support_agent;
GRANT SELECT, UPDATE ON review.unmapped_customers TO support_agent;

-- review.resolve_customer comes from migration 0002; granted whatever its signature, and only if present.
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure
        FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'review' AND p.proname = 'resolve_customer'
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO support_agent', fn);
    END LOOP;
END
$$;
