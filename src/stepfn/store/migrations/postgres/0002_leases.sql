-- 0002: leases (SQLite's 0006). A server claims an execution (to step it) or an invoke
-- task (to run it) for a while: lease_owner names the server, lease_expires (seconds
-- since the epoch) when another may take it over. NULL: nobody holds it.
ALTER TABLE executions ADD COLUMN lease_owner TEXT COLLATE "C";

ALTER TABLE executions ADD COLUMN lease_expires DOUBLE PRECISION;

ALTER TABLE tasks ADD COLUMN lease_owner TEXT COLLATE "C";

ALTER TABLE tasks ADD COLUMN lease_expires DOUBLE PRECISION;

CREATE INDEX tasks_by_lease ON tasks (lease_expires) WHERE lease_expires IS NOT NULL;
