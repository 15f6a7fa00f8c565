-- The PostgreSQL store's own queries: those whose text differs from SQLite's
-- (sqlite.sql holds the same names), and at the end the few that SQLite has no use
-- for. See common.sql for the shared ones.

-- name: create_schema_migrations
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied DOUBLE PRECISION NOT NULL
);

-- name: migration_lock
-- Servers starting at once on a new database take turns: the first migrates, the others
-- then find nothing left to do. The lock ends with the transaction.
SELECT pg_advisory_xact_lock(7317706526);

-- name: fire_timers
-- One statement takes the due timers away, so that a timer fires once across servers;
-- rows another server is taking are skipped rather than waited for. (The rows are picked
-- in a materialized CTE: an IN subquery with LIMIT may be run again by the planner and
-- take more than the limit.)
WITH due AS MATERIALIZED (
    SELECT execution_arn, timer_id FROM timers
    WHERE due <= :now
    ORDER BY due, execution_arn, timer_id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
DELETE FROM timers t USING due
WHERE t.execution_arn = due.execution_arn AND t.timer_id = due.timer_id
RETURNING t.execution_arn, t.timer_id, t.due;

-- The conditions log_events adds for the arguments given (fragments, not statements):
-- fixed text, only the values are parameters. Lists come as JSON text.

-- name: log_filter_streams
 AND log_stream_name IN (SELECT jsonb_array_elements_text(CAST(:streams AS jsonb)))

-- name: log_filter_terms
 AND NOT EXISTS (
    SELECT 1 FROM jsonb_array_elements_text(CAST(:terms AS jsonb)) AS term
    WHERE strpos(message, term) = 0
)

-- PostgreSQL's own, with no SQLite twin: the wake-ups between servers (LISTEN/NOTIFY,
-- see migrations/postgres/0008_notifications.sql).

-- name: notify_channel
-- The channel of the schema the store's tables are in (the triggers' TG_TABLE_SCHEMA).
SELECT left('stepfn_' || current_schema(), 63);

-- name: set_session_owner
-- The lease owner that steps what this session's writes queue ('': none), for the
-- inbox's notifications.
SELECT set_config('stepfn.owner', ?, false);
