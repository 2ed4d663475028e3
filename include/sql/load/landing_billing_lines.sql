-- The raw billing lines as the API sent them, for the independent money check: of each line that is a
-- JSON object, the JSON values of %(fields)s in that order (null where absent). Only those leave the
-- server, not the whole record.
SELECT (SELECT jsonb_agg(raw -> f.name ORDER BY f.position)
        FROM unnest(%(fields)s::text[]) WITH ORDINALITY AS f(name, position))::text
FROM sophos.landing_records
WHERE sync_run_id = %(sync_run_id)s AND entity = 'billing_usage' AND jsonb_typeof(raw) = 'object'
