-- The organization a Sophos customer is mapped to now, if any (a refused resolve offers to replace it).
SELECT platform_org_id FROM sophos.customer_mappings WHERE sophos_customer_id = %(sophos_customer_id)s::uuid
