SELECT count(*) FROM review.unmapped_customers WHERE status = 'open'
