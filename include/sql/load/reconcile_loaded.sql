-- The PostgreSQL side of reconciliation in one pass over the month: per currency, how many lines this run
-- loaded, and the sum of the amounts Sophos priced (unit_price * billable_quantity where price_source is
-- sophos; a price list's valuation is ours, not the report's, so it is not compared). amount is null for a
-- currency without a Sophos-priced line.
SELECT currency, count(*) AS lines, sum(line_amount) FILTER (WHERE price_source = 'sophos') AS amount
FROM sophos.invoice_lines
WHERE billing_month = %(billing_month)s AND sync_run_id = %(sync_run_id)s
GROUP BY currency
