-- 0010 (PostgreSQL only): the updates of a step leave the executions' indexes alone.
-- Every step updates its execution's row twice (the claim sets the lease, the commit
-- gives it up with the new run state), and an update that changes an indexed column,
-- or finds no room on the row's page, writes a new entry into every index of the table
-- (four of them), where a "heap-only" (HOT) update writes none. The index on
-- lease_owner (0006) made every one of those updates change an indexed column; it
-- served the statements that look a server's leases up by owner, which now run by ARN
-- (a server renews what it is working on) or once, at a clean shutdown (release_leases,
-- a scan). Pages keep room for the new versions of their rows (fillfactor; for the
-- pages written from now on).
DROP INDEX executions_by_lease_owner;

ALTER TABLE executions SET (fillfactor = 70);
