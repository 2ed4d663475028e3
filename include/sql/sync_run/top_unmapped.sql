-- The open review rows of the customers billed in the run's month, biggest amount first, with that month's
-- amount in the currency most of their lines are in (review.unmapped_customers keeps only the newest month's).
WITH per_currency AS (
    SELECT sophos_customer_id, currency, sum(line_amount) AS amount, count(*) AS lines
      FROM sophos.invoice_lines
     WHERE billing_month = %(billing_month)s AND sophos_customer_id IS NOT NULL
     GROUP BY sophos_customer_id, currency
),
main_currency AS (
    SELECT DISTINCT ON (sophos_customer_id) sophos_customer_id, currency, amount
      FROM per_currency
     ORDER BY sophos_customer_id, currency IS NULL, lines DESC, amount DESC NULLS LAST, currency
)
SELECT u.sophos_customer_id::text AS sophos_customer_id, u.customer_name, u.reason, c.amount AS billed_amount,
       c.currency
  FROM review.unmapped_customers u
  JOIN main_currency c ON c.sophos_customer_id = u.sophos_customer_id
 WHERE u.status = 'open'
 ORDER BY c.amount DESC NULLS LAST, u.customer_name, u.sophos_customer_id
 LIMIT %(limit)s
