-- The report's re-check of a committed month, all in PostgreSQL: per currency, net_price * billable_quantity
-- summed over the billing lines validation staged for the run (what the load was given), to compare with
-- what sophos.invoice_lines holds for it (load/reconcile_loaded).
SELECT currency, coalesce(sum(net_price * billable_quantity), 0) AS amount
FROM sophos.stage_billing_lines
WHERE sync_run_id = %(sync_run_id)s
GROUP BY currency
