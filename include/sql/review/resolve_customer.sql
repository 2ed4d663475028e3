-- The one safe way to resolve (migrations 0002, 0007): checks, manual mapping, review row resolved,
-- history; answers the organization, which a support_agent login cannot read otherwise.
SELECT org_id, seller_id, name
  FROM review.resolve_customer(%(sophos_customer_id)s::uuid, %(org_id)s, %(resolved_by)s, %(force)s)
