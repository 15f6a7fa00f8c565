-- 0006 (SQLite's 0010): what a server holds, found without a scan: renewing its
-- leases (every few seconds) and releasing them touch only its own rows. Partial: a row
-- leaves the index when its lease is given up (a step committed, a task answered).
CREATE INDEX executions_by_lease_owner ON executions (lease_owner) WHERE lease_owner IS NOT NULL;

CREATE INDEX tasks_by_lease_owner ON tasks (lease_owner) WHERE lease_owner IS NOT NULL;
