-- The one safe way to resolve (migration 0002): checks, manual mapping, review row resolved, history.
SELECT review.resolve_customer(%(sophos_customer_id)s::uuid, %(org_id)s, %(resolved_by)s, %(force)s)
