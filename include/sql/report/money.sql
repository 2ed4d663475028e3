-- The month's money figures for the run report (sophos.sync_runs.counts -> 'money'), in one statement:
-- order lines per status of finance.order_line_checks (with the mismatched amount per currency), credit
-- lines, lines without an amount, lines the price list valued, and Sophos prices that differ from the list.
WITH month_lines AS (
    SELECT * FROM sophos.invoice_lines WHERE billing_month = %(billing_month)s
),
checks AS (
    SELECT * FROM finance.order_line_checks WHERE billing_month = %(billing_month)s
)
SELECT jsonb_build_object(
    'order_lines', (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM
                        (SELECT status, count(*) AS n FROM checks GROUP BY status) s),
    'mismatched_amounts', (SELECT coalesce(jsonb_object_agg(coalesce(currency, 'none'), apart), '{}') FROM
                        (SELECT currency, sum(abs(difference))::text AS apart FROM checks
                          WHERE status = 'mismatch' GROUP BY currency) m),
    'credit_lines', (SELECT count(*) FROM month_lines WHERE billable_quantity < 0),
    'credit_amounts', (SELECT coalesce(jsonb_object_agg(coalesce(currency, 'none'), amount), '{}') FROM
                        (SELECT currency, sum(line_amount)::text AS amount FROM month_lines
                          WHERE billable_quantity < 0 AND line_amount IS NOT NULL GROUP BY currency) c),
    'unpriced_lines', (SELECT count(*) FROM month_lines WHERE line_amount IS NULL),
    'unpriced_units', (SELECT coalesce(sum(billable_quantity), 0) FROM month_lines WHERE line_amount IS NULL),
    'price_list_lines', (SELECT count(*) FROM month_lines WHERE price_source = 'price_list'),
    'price_list_amounts', (SELECT coalesce(jsonb_object_agg(currency, amount), '{}') FROM
                        (SELECT currency, sum(line_amount)::text AS amount FROM month_lines
                          WHERE price_source = 'price_list' GROUP BY currency) p),
    'price_deviations', (SELECT coalesce(sum(lines), 0) FROM finance.price_deviations
                          WHERE billing_month = %(billing_month)s),
    'price_deviation_amounts', (SELECT coalesce(jsonb_object_agg(currency, amount), '{}') FROM
                        (SELECT currency, sum(amount_difference)::text AS amount FROM finance.price_deviations
                          WHERE billing_month = %(billing_month)s GROUP BY currency) d)
)
