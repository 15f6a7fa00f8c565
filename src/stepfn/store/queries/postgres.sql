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

-- name: claim_executions
-- Executions with waiting stimuli that nobody holds (or whose lease ran out), oldest
-- stimulus first, now held by :owner until :expires. Found from the inbox, which holds
-- what is waiting now, and looked up by key (= ANY of an array: joined, or with IN,
-- the planner scanned every execution there ever was). Rows another server is
-- claiming at the same moment are skipped, not waited for; the key-share locks of rows
-- being inserted that refer to an execution (an answer for it, say) are no reason to
-- skip it (NO KEY UPDATE). The rows are picked in a materialized CTE: an IN subquery
-- with LIMIT may be run again by the planner and take more than the limit.
WITH waiting AS MATERIALIZED (
    SELECT execution_arn, min(id) AS oldest FROM inbox GROUP BY execution_arn
), picked AS MATERIALIZED (
    SELECT e.arn FROM executions e JOIN waiting w ON w.execution_arn = e.arn
    WHERE e.arn = ANY(ARRAY(SELECT execution_arn FROM waiting))
        AND (e.lease_owner IS NULL OR e.lease_expires < :now)
    ORDER BY w.oldest
    LIMIT :limit
    FOR NO KEY UPDATE OF e SKIP LOCKED
)
UPDATE executions SET lease_owner = :owner, lease_expires = :expires
WHERE arn = ANY(ARRAY(SELECT arn FROM picked))
    AND (lease_owner IS NULL OR lease_expires < :now)
RETURNING arn;

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

-- The hot path in single statements (see postgres.py): each is its own transaction
-- (the connections are in autocommit mode), so a step's commit or a batch of task
-- answers costs one round trip to the server and one pass of its executor, where a
-- statement per row, between BEGIN and COMMIT, cost a dozen. The rows come as arrays,
-- one per column, unnested in the statement. A table joined to arrays is also filtered
-- by ``= ANY(array)`` of its key: the planner cannot tell how long an array is, and
-- without that it may scan the whole table rather than look the keys up.

-- name: commit_steps
-- commit_execution (its checks of next_event_id, of the run state a step made from a
-- kept one started from, and of the lease) for many executions at once, and the rows of the steps that pass their check: the data-
-- modifying CTEs below take only the rows of the executions that ``stepped`` updated.
-- Those CTEs see the table as it was before the statement, so a task a step both
-- writes and finishes comes already finished. Returns the ARNs committed.
WITH step AS (
    SELECT * FROM unnest(
        CAST(:arn AS text[]), CAST(:expected AS integer[]), CAST(:next AS integer[]),
        CAST(:run_state AS text[]), CAST(:status AS text[]), CAST(:output AS text[]),
        CAST(:error AS text[]), CAST(:cause AS text[]), CAST(:stop_date AS float8[]),
        CAST(:redrive AS integer[]), CAST(:redrive_count AS integer[]),
        CAST(:redrive_date AS float8[]), CAST(:owner AS text[]),
        CAST(:expected_run_state AS text[])
    ) AS s (
        arn, expected, next, run_state, status, output, error, cause, stop_date, redrive,
        redrive_count, redrive_date, owner, expected_run_state
    )
), stepped AS (
    UPDATE executions e SET
        lease_owner = CASE WHEN s.owner IS NULL THEN e.lease_owner END,
        lease_expires = CASE WHEN s.owner IS NULL THEN e.lease_expires END,
        next_event_id = s.next,
        run_state = s.run_state,
        status = s.status,
        output = CASE WHEN s.redrive = 0 THEN coalesce(s.output, e.output) END,
        error = CASE WHEN s.redrive = 0 THEN coalesce(s.error, e.error) END,
        cause = CASE WHEN s.redrive = 0 THEN coalesce(s.cause, e.cause) END,
        stop_date = CASE WHEN s.redrive = 0 THEN coalesce(s.stop_date, e.stop_date) END,
        redrive_count = coalesce(s.redrive_count, e.redrive_count),
        redrive_date = CASE WHEN s.redrive = 0 THEN e.redrive_date ELSE s.redrive_date END
    FROM step s
    WHERE e.arn = ANY(CAST(:arn AS text[])) AND e.arn = s.arn AND e.next_event_id = s.expected
        AND (s.expected_run_state IS NULL OR e.run_state = s.expected_run_state)
        AND (s.owner IS NULL OR e.lease_owner = s.owner)
    RETURNING e.arn
), new_events AS (
    INSERT INTO events (execution_arn, id, previous_event_id, timestamp, type, details)
    SELECT * FROM unnest(
        CAST(:event_arn AS text[]), CAST(:event_id AS integer[]),
        CAST(:event_previous AS integer[]), CAST(:event_timestamp AS float8[]),
        CAST(:event_type AS text[]), CAST(:event_details AS text[])
    ) AS v (execution_arn, id, previous_event_id, timestamp, type, details)
    WHERE v.execution_arn IN (SELECT arn FROM stepped)
), consumed AS (
    DELETE FROM inbox
    USING unnest(CAST(:consumed_id AS bigint[]), CAST(:consumed_arn AS text[])) AS c (id, arn)
    WHERE inbox.id = ANY(CAST(:consumed_id AS bigint[]))
        AND inbox.id = c.id AND inbox.execution_arn = c.arn
        AND c.arn IN (SELECT arn FROM stepped)
), queued AS (
    INSERT INTO inbox (execution_arn, stimulus, created)
    SELECT * FROM unnest(
        CAST(:inbox_arn AS text[]), CAST(:inbox_stimulus AS text[]),
        CAST(:inbox_created AS float8[])
    ) AS q (execution_arn, stimulus, created)
    WHERE q.execution_arn IN (SELECT arn FROM stepped)
), cancelled AS (
    DELETE FROM timers
    USING unnest(CAST(:cancelled_arn AS text[]), CAST(:cancelled_id AS text[])) AS c (arn, id)
    WHERE timers.execution_arn = ANY(CAST(:cancelled_arn AS text[]))
        AND timers.execution_arn = c.arn AND timers.timer_id = c.id
        AND c.arn IN (SELECT arn FROM stepped)
), set_timers AS (
    INSERT INTO timers (execution_arn, timer_id, due)
    SELECT * FROM unnest(
        CAST(:timer_arn AS text[]), CAST(:timer_id AS text[]), CAST(:timer_due AS float8[])
    ) AS t (execution_arn, timer_id, due)
    WHERE t.execution_arn IN (SELECT arn FROM stepped)
    ON CONFLICT (execution_arn, timer_id) DO UPDATE SET due = excluded.due
), new_tasks AS (
    INSERT INTO tasks (
        token, execution_arn, resource, payload, state_name, kind, status, created,
        activity_arn, worker_name, timeout_seconds, heartbeat_seconds, attempt, lease_owner,
        lease_expires
    )
    SELECT token, execution_arn, resource, payload, state_name, kind, status, created,
        activity_arn, worker_name, timeout_seconds, heartbeat_seconds, attempt, lease_owner,
        lease_expires
    FROM unnest(
        CAST(:task_token AS text[]), CAST(:task_arn AS text[]), CAST(:task_resource AS text[]),
        CAST(:task_payload AS text[]), CAST(:task_state_name AS text[]),
        CAST(:task_kind AS text[]), CAST(:task_status AS text[]),
        CAST(:task_created AS float8[]), CAST(:task_activity_arn AS text[]),
        CAST(:task_worker_name AS text[]), CAST(:task_timeout AS float8[]),
        CAST(:task_heartbeat AS float8[]), CAST(:task_attempt AS integer[]),
        CAST(:task_lease_owner AS text[]), CAST(:task_lease_expires AS float8[]),
        CAST(:task_step AS text[])
    ) AS t (
        token, execution_arn, resource, payload, state_name, kind, status, created,
        activity_arn, worker_name, timeout_seconds, heartbeat_seconds, attempt, lease_owner,
        lease_expires, step
    )
    WHERE t.step IN (SELECT arn FROM stepped)
), finished AS (
    UPDATE tasks SET status = 'done', lease_owner = NULL, lease_expires = NULL
    FROM unnest(CAST(:finished_token AS text[]), CAST(:finished_arn AS text[])) AS f (token, arn)
    WHERE tasks.token = ANY(CAST(:finished_token AS text[]))
        AND tasks.token = f.token AND f.arn IN (SELECT arn FROM stepped)
)
SELECT arn FROM stepped;

-- name: complete_tasks
-- complete_task and add_inbox for many answers at once (:n numbers them): each task
-- not done yet is marked done and its result queued, with the message id taken here
-- so that each answer learns its own. Returns (n, message id) for the answers queued.
WITH answer AS (
    SELECT * FROM unnest(
        CAST(:token AS text[]), CAST(:stimulus AS text[]), CAST(:created AS float8[]),
        CAST(:n AS integer[])
    ) AS a (token, stimulus, created, n)
), done AS (
    UPDATE tasks SET status = 'done', lease_owner = NULL, lease_expires = NULL
    FROM answer
    WHERE tasks.token = ANY(CAST(:token AS text[]))
        AND tasks.token = answer.token AND tasks.status != 'done'
    RETURNING answer.n, tasks.execution_arn, answer.stimulus, answer.created
), numbered AS MATERIALIZED (
    SELECT n, execution_arn, stimulus, created,
        nextval(pg_get_serial_sequence('inbox', 'id')) AS id
    FROM (SELECT * FROM done ORDER BY n) AS ordered
), queued AS (
    INSERT INTO inbox (id, execution_arn, stimulus, created) OVERRIDING SYSTEM VALUE
    SELECT id, execution_arn, stimulus, created FROM numbered
)
SELECT n, id FROM numbered;

-- name: renew_held_executions
-- renew_execution_lease for many rows in one statement. A row that another transaction
-- is changing is skipped, not waited for: a commit or a claim (which gives the lease up
-- or takes it over), and waiting on it while holding the rows renewed so far could make
-- this statement one side of a deadlock. A skipped row is renewed next time, well
-- before its lease runs out. (NO KEY UPDATE: the key-share locks of the rows being
-- inserted that refer to an execution, its answers among them, are no reason to skip.)
UPDATE executions SET lease_expires = :expires
WHERE arn IN (
    SELECT arn FROM executions
    WHERE arn = ANY(CAST(:arns AS text[])) AND lease_owner = :owner
    FOR NO KEY UPDATE SKIP LOCKED
);

-- name: renew_held_tasks
-- renew_task_lease for many rows, as renew_held_executions.
UPDATE tasks SET lease_expires = :expires
WHERE token IN (
    SELECT token FROM tasks
    WHERE token = ANY(CAST(:tokens AS text[])) AND lease_owner = :owner
        AND status = 'dispatched'
    FOR NO KEY UPDATE SKIP LOCKED
);


-- name: step_reads
-- get_execution and list_inbox for a batch of executions in one query: each row with
-- its waiting stimuli as three arrays in id order (NULL when none wait, or when its
-- execution is in :without, whose inbox the worker need not read). The executions are
-- looked up by key (= ANY of an array), the inbox by its index on (execution_arn, id).
SELECT e.arn, e.state_machine_arn, e.name, e.type, e.status, e.input, e.start_date,
    e.definition_id, e.role_arn, e.version_arn, e.alias_arn, e.output, e.error, e.cause,
    e.stop_date, e.run_state, e.next_event_id, e.redrive_count, e.redrive_date,
    e.trace_header, e.map_run_arn, e.state_machine_revision_id, e.item_count,
    e.map_run_event_id, e.item_index,
    m.ids AS inbox_ids, m.stimuli AS inbox_stimuli, m.created AS inbox_created
FROM executions e
LEFT JOIN LATERAL (
    SELECT array_agg(i.id ORDER BY i.id) AS ids,
        array_agg(i.stimulus ORDER BY i.id) AS stimuli,
        array_agg(i.created ORDER BY i.id) AS created
    FROM inbox i
    WHERE i.execution_arn = e.arn AND NOT (e.arn = ANY(CAST(:without AS text[])))
) m ON true
WHERE e.arn = ANY(CAST(:arns AS text[]));
