-- The run whose lines the month holds now: a month is replaced as a whole, so its lines share one run.
SELECT sync_run_id FROM sophos.invoice_lines WHERE billing_month = %(billing_month)s LIMIT 1
