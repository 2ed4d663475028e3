-- Lines of a month billed in another currency than the contract of the connection that fetched them.
SELECT account, contract_currency, currency, count(*) AS lines
FROM sophos.invoice_lines
WHERE billing_month = %s AND currency_mismatch
GROUP BY account, contract_currency, currency
ORDER BY account, currency
