-- The raw billing lines as the API sent them (JSON lines, a page per row), with the connection they came
-- through, for the independent money check.
SELECT account, lines
FROM sophos.landing_pages
WHERE sync_run_id = %(sync_run_id)s AND entity = 'billing_usage'
ORDER BY account, page
