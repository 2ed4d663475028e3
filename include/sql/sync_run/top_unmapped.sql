-- The open unmapped customers that bill the most: the ones Support should map first.
SELECT sophos_customer_id::text, customer_name, reason, billed_amount, currency, subscription_count
FROM review.unmapped_customers WHERE status = 'open'
ORDER BY billed_amount DESC NULLS LAST, customer_name LIMIT %(limit)s
