-- Per billing month, order line (order number and line item) and currency: what Sophos's netPrice says of the
-- order line against the amount the lines compute (unit_price * billable_quantity over the Sophos-priced lines),
-- so the data tells which reading of netPrice is right (README, "How amounts are computed"). net_price is the
-- netPrice the lines share, or their sum when they differ (each line's own total).
CREATE OR REPLACE VIEW finance.order_line_checks AS
WITH order_lines AS (
    SELECT billing_month,
           order_number,
           order_line_item_number,
           currency,
           count(*) AS lines,
           sum(billable_quantity) AS billable_quantity,
           CASE WHEN min(net_price) = max(net_price) THEN min(net_price) ELSE sum(net_price) END AS net_price,
           sum(unit_price * billable_quantity) AS computed_amount,
           bool_and(price_source = 'sophos' AND net_price IS NOT NULL) AS priced,
           bool_and(net_price = unit_price) AS net_is_unit,
           bool_and(net_price = round(unit_price * (1 - additional_discount_percentage / 100), 2)) AS net_is_discounted
      FROM sophos.invoice_lines
     GROUP BY billing_month, order_number, order_line_item_number, currency
)
SELECT billing_month,
       order_number,
       order_line_item_number,
       currency,
       lines,
       billable_quantity,
       net_price,
       CASE WHEN priced THEN computed_amount END AS computed_amount,
       CASE WHEN priced THEN net_price - computed_amount END AS difference,
       CASE WHEN NOT coalesce(priced, false) THEN 'unpriced'
            WHEN net_price = computed_amount THEN 'consistent'
            WHEN net_is_unit THEN 'per_unit'
            WHEN coalesce(net_is_discounted, false) THEN 'discounted_unit'
            ELSE 'mismatch' END AS status
  FROM order_lines;

COMMENT ON VIEW finance.order_line_checks IS
    'Per month, order line and currency: Sophos''s netPrice against the computed amount. status: consistent '
    '(netPrice is the order line''s total, as the amount rule reads it), per_unit (netPrice equals unitPrice on '
    'every line: the older reading, same amounts), discounted_unit (netPrice is unitPrice less '
    'additionalDiscountPercentage on every line: the amounts would overstate by the discount), mismatch (none of '
    'these: difference shows by how much), unpriced (a line without a Sophos unitPrice or netPrice).';

GRANT SELECT ON finance.order_line_checks TO finance_reader;
