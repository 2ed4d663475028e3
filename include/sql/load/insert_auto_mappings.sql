-- Auto-matched customers of the run get a mapping; an existing one (above all a manual one) is kept.
INSERT INTO sophos.customer_mappings (sophos_customer_id, platform_org_id, method, mapped_at, mapped_by)
SELECT d.sophos_customer_id, d.platform_org_id, 'auto', now(), 'auto-match'
FROM sophos.stage_customer_decisions d
WHERE d.sync_run_id = %(sync_run_id)s AND d.outcome = 'auto_matched'
ON CONFLICT (sophos_customer_id) DO NOTHING
