-- One load at a time, whatever the month: held until the load's transaction ends, so a second load
-- waits and then runs against the state the first one committed.
SELECT pg_advisory_xact_lock(hashtext('sophos_sync.load'))
