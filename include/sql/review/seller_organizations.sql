-- Type-ahead: organizations of one seller whose name or id contains the typed text (a LIKE pattern whose
-- wildcards the caller escaped), names first.
SELECT org_id, name
  FROM platform.customer_organizations
 WHERE seller_id = %(seller_id)s
   AND (name ILIKE %(pattern)s OR org_id ILIKE %(pattern)s)
 ORDER BY lower(name), org_id
 LIMIT %(limit)s
