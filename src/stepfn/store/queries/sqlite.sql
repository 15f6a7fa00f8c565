-- The SQLite store's own queries: those whose text differs from PostgreSQL's
-- (postgres.sql holds the same names). See common.sql for the shared ones.

-- name: create_schema_migrations
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL NOT NULL
);

-- name: migration_lock
-- BEGIN IMMEDIATE has taken the write lock already: no other process migrates meanwhile.
SELECT 1;

-- name: fire_timers
-- One statement takes the due timers away, so that a timer fires once. SQLite has one
-- writer at a time: nothing else can take them meanwhile.
DELETE FROM timers
WHERE (execution_arn, timer_id) IN (
    SELECT execution_arn, timer_id FROM timers
    WHERE due <= :now
    ORDER BY due, execution_arn, timer_id
    LIMIT :limit
)
RETURNING execution_arn, timer_id, due;

-- name: claim_executions
-- Executions with waiting stimuli that nobody holds (or whose lease ran out), oldest
-- stimulus first, now held by :owner until :expires. (SQLite has one writer: nothing
-- else claims meanwhile.)
WITH picked AS MATERIALIZED (
    SELECT e.arn FROM executions e
    WHERE e.arn IN (SELECT execution_arn FROM inbox)
        AND (e.lease_owner IS NULL OR e.lease_expires < :now)
    ORDER BY (SELECT min(i.id) FROM inbox i WHERE i.execution_arn = e.arn)
    LIMIT :limit
)
UPDATE executions SET lease_owner = :owner, lease_expires = :expires
FROM picked
WHERE executions.arn = picked.arn
    AND (executions.lease_owner IS NULL OR executions.lease_expires < :now)
RETURNING executions.arn;

-- The conditions log_events adds for the arguments given (fragments, not statements):
-- fixed text, only the values are parameters. Lists come as JSON text.

-- name: log_filter_streams
 AND log_stream_name IN (SELECT value FROM json_each(:streams))

-- name: log_filter_terms
 AND NOT EXISTS (SELECT 1 FROM json_each(:terms) WHERE instr(message, value) = 0)
