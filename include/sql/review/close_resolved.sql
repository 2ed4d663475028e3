-- Open review rows whose customer is mapped now (auto-matched in this run, or mapped by a person)
-- become resolved, with who or what resolved them; the rows themselves stay as history.
WITH closable AS (
    SELECT r.sophos_customer_id,
           coalesce(m.platform_org_id, d.platform_org_id) AS org_id,
           CASE WHEN m.method = 'manual' THEN m.mapped_by ELSE 'auto-match' END AS resolved_by,
           CASE WHEN m.method = 'manual' THEN 'resolved' ELSE 'auto_resolved' END AS event
      FROM review.unmapped_customers r
      LEFT JOIN sophos.customer_mappings m ON m.sophos_customer_id = r.sophos_customer_id
      LEFT JOIN sophos.stage_customer_decisions d
             ON d.sync_run_id = %(sync_run_id)s
            AND d.sophos_customer_id = r.sophos_customer_id
            AND d.outcome = 'auto_matched'
     WHERE r.status = 'open'
       AND (m.sophos_customer_id IS NOT NULL OR d.sophos_customer_id IS NOT NULL)
),
closed AS (
    UPDATE review.unmapped_customers r
       SET status = 'resolved', resolved_org_id = c.org_id, resolved_by = c.resolved_by, resolved_at = now()
      FROM closable c
     WHERE r.sophos_customer_id = c.sophos_customer_id
       AND r.status = 'open'  -- rechecked after a lock wait: a concurrent manual resolve wins
    RETURNING r.sophos_customer_id
),
logged AS (
    INSERT INTO review.mapping_changes (sophos_customer_id, event, platform_org_id, changed_by)
    SELECT c.sophos_customer_id, c.event, c.org_id, c.resolved_by
      FROM closable c
      JOIN closed USING (sophos_customer_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM closed) AS closed, (SELECT count(*) FROM logged) AS logged
