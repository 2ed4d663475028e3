-- The figures at the top of the review page: open rows by reason, and resolved rows.
SELECT count(*) FILTER (WHERE status = 'open') AS open,
       count(*) FILTER (WHERE status = 'open' AND reason = 'no_match') AS no_match,
       count(*) FILTER (WHERE status = 'open' AND reason = 'ambiguous') AS ambiguous,
       count(*) FILTER (WHERE status = 'open' AND reason = 'unknown_seller') AS unknown_seller,
       count(*) FILTER (WHERE status = 'resolved') AS resolved
  FROM review.unmapped_customers
