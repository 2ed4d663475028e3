-- The review page's rows of one status (open or resolved), optionally of one seller and one reason, with
-- the customer's showAs, the seller's name and, once resolved, the organization's name.
-- Amounts of different currencies are ordered as numbers; the currency is shown beside each.
SELECT r.sophos_customer_id::text AS sophos_customer_id, r.customer_name, c.show_as,
       r.partner_id::text AS partner_id, r.seller_id, s.name AS seller_name, r.reason, r.candidates,
       r.subscription_count, r.billed_amount, r.currency, r.billed_month, r.first_seen_at, r.last_seen_at,
       r.status, r.resolved_org_id, o.name AS resolved_org_name, r.resolved_by, r.resolved_at
  FROM review.unmapped_customers r
  LEFT JOIN sophos.customers c ON c.sophos_customer_id = r.sophos_customer_id
  LEFT JOIN platform.sellers s ON s.seller_id = r.seller_id
  LEFT JOIN platform.customer_organizations o ON o.org_id = r.resolved_org_id
 WHERE r.status = %(status)s
   AND (%(seller_id)s::text IS NULL OR r.seller_id = %(seller_id)s::text)
   AND (%(reason)s::text IS NULL OR r.reason = %(reason)s::text)
 ORDER BY CASE WHEN %(sort)s = 'recent' THEN r.resolved_at END DESC NULLS LAST,
          CASE WHEN %(sort)s = 'amount_asc' THEN r.billed_amount END ASC NULLS LAST,
          CASE WHEN %(sort)s <> 'amount_asc' THEN r.billed_amount END DESC NULLS LAST,
          r.subscription_count DESC, r.customer_name, r.sophos_customer_id
 LIMIT %(limit)s
