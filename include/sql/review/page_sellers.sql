-- The sellers the review page can filter by: those with a row in review.unmapped_customers.
SELECT DISTINCT r.seller_id, s.name
  FROM review.unmapped_customers r
  JOIN platform.sellers s ON s.seller_id = r.seller_id
 ORDER BY s.name, r.seller_id
