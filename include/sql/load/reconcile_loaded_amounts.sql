-- The money side in PostgreSQL: per currency, the sum of the table's line_amount
-- (net_price * billable_quantity) of the lines this run loaded.
SELECT currency, coalesce(sum(line_amount), 0) AS amount
FROM sophos.invoice_lines
WHERE billing_month = %(billing_month)s AND sync_run_id = %(sync_run_id)s
GROUP BY currency
