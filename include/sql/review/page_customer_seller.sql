-- The seller of one review row: the only seller whose organizations the page offers for it.
SELECT seller_id FROM review.unmapped_customers WHERE sophos_customer_id = %(sophos_customer_id)s::uuid
