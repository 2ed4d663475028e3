-- The report's re-check of a committed month, all in PostgreSQL: per currency, unit_price * billable_quantity
-- summed over the billing lines validation staged for the run with a Sophos unit price (what the load was
-- given), to compare with the Sophos-priced amounts sophos.invoice_lines holds for it (load/reconcile_loaded).
SELECT currency, sum(unit_price * billable_quantity) AS amount
FROM sophos.stage_billing_lines
WHERE sync_run_id = %(sync_run_id)s AND unit_price IS NOT NULL
GROUP BY currency
