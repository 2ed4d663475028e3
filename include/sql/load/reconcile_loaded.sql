-- The PostgreSQL side of reconciliation in one pass over the month: per currency, how many lines this run
-- loaded and the sum of their line_amount (net_price * billable_quantity).
SELECT currency, count(*) AS lines, coalesce(sum(line_amount), 0) AS amount
FROM sophos.invoice_lines
WHERE billing_month = %(billing_month)s AND sync_run_id = %(sync_run_id)s
GROUP BY currency
