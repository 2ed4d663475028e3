-- Support's work list: open rows, the most money at stake first (amounts of different currencies are
-- compared as numbers; the currency is shown beside each).
SELECT sophos_customer_id::text AS sophos_customer_id, customer_name, partner_id::text AS partner_id, seller_id,
       reason, candidates, subscription_count, billed_amount, currency, billed_month, first_seen_at, last_seen_at
  FROM review.unmapped_customers
 WHERE status = 'open'
 ORDER BY billed_amount DESC NULLS LAST, subscription_count DESC, customer_name, sophos_customer_id
 LIMIT %(limit)s
