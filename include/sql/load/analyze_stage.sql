-- validate has just COPYed the run into the stage tables; autovacuum may not have looked at them yet,
-- and the merges below join them, so the planner gets fresh statistics first (a sample, not a scan).
ANALYZE sophos.stage_tenants, sophos.stage_licenses, sophos.stage_billing_lines, sophos.stage_customer_decisions
