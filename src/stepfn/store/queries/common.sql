-- The queries both SQL stores share, by name (see sqlfile.py); those whose text differs
-- between SQLite and PostgreSQL are in sqlite.sql and postgres.sql, under the same names.
-- Parameters are named after the
-- record fields they bind, so a record's fields can be passed as they are.
--
-- Ties in an ordering are broken by rowid, which is insertion order (PostgreSQL's tables
-- have an identity column of that name): two rows created in
-- the same clock tick still list in the order they were written.

-- migrations (schema_migrations is created by each dialect's create_schema_migrations) --

-- name: applied_migrations
SELECT version FROM schema_migrations;

-- name: migration_applied
SELECT 1 FROM schema_migrations WHERE version = ?;

-- name: record_migration
INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?);

-- state machines ------------------------------------------------------------------------

-- name: insert_state_machine
INSERT INTO state_machines (
    arn, name, definition, role_arn, type, creation_date, update_date, status, description,
    revision_id, logging_configuration, tracing_configuration, encryption_configuration, label
) VALUES (
    :arn, :name, :definition, :role_arn, :type, :creation_date, :update_date, :status,
    :description, :revision_id, :logging_configuration, :tracing_configuration,
    :encryption_configuration, :label
);

-- name: get_state_machine
SELECT arn, name, definition, role_arn, type, creation_date, update_date, status, description,
    revision_id, logging_configuration, tracing_configuration, encryption_configuration, label
FROM state_machines WHERE arn = :arn;

-- name: update_state_machine
UPDATE state_machines SET
    name = :name, definition = :definition, role_arn = :role_arn, type = :type,
    creation_date = :creation_date, update_date = :update_date, status = :status,
    description = :description, revision_id = :revision_id,
    logging_configuration = :logging_configuration,
    tracing_configuration = :tracing_configuration,
    encryption_configuration = :encryption_configuration, label = :label
WHERE arn = :arn;

-- name: list_state_machines
SELECT arn, name, definition, role_arn, type, creation_date, update_date, status, description,
    revision_id, logging_configuration, tracing_configuration, encryption_configuration, label
FROM state_machines ORDER BY creation_date, rowid;

-- name: delete_state_machine_tags
DELETE FROM tags
WHERE resource_arn = :arn
    OR resource_arn IN (SELECT arn FROM versions WHERE state_machine_arn = :arn)
    OR resource_arn IN (SELECT arn FROM aliases WHERE state_machine_arn = :arn);

-- name: delete_state_machine_aliases
DELETE FROM aliases WHERE state_machine_arn = :arn;

-- name: delete_state_machine_versions
DELETE FROM versions WHERE state_machine_arn = :arn;

-- name: delete_state_machine
DELETE FROM state_machines WHERE arn = :arn;

-- versions -------------------------------------------------------------------------------

-- name: insert_version
INSERT INTO versions (
    arn, state_machine_arn, version, definition, role_arn, type, creation_date, description,
    revision_id, logging_configuration, tracing_configuration
) VALUES (
    :arn, :state_machine_arn, :version, :definition, :role_arn, :type, :creation_date,
    :description, :revision_id, :logging_configuration, :tracing_configuration
);

-- name: get_version
SELECT arn, state_machine_arn, version, definition, role_arn, type, creation_date, description,
    revision_id, logging_configuration, tracing_configuration
FROM versions WHERE arn = :arn;

-- name: list_versions
SELECT arn, state_machine_arn, version, definition, role_arn, type, creation_date, description,
    revision_id, logging_configuration, tracing_configuration
FROM versions WHERE state_machine_arn = :state_machine_arn ORDER BY version DESC;

-- name: delete_version
DELETE FROM versions WHERE arn = :arn;

-- aliases --------------------------------------------------------------------------------

-- name: insert_alias
INSERT INTO aliases (
    arn, state_machine_arn, name, routing_configuration, creation_date, update_date,
    description
) VALUES (
    :arn, :state_machine_arn, :name, :routing_configuration, :creation_date, :update_date,
    :description
);

-- name: get_alias
SELECT arn, state_machine_arn, name, routing_configuration, creation_date, update_date, description
FROM aliases WHERE arn = :arn;

-- name: update_alias
UPDATE aliases SET
    state_machine_arn = :state_machine_arn, name = :name,
    routing_configuration = :routing_configuration, creation_date = :creation_date,
    update_date = :update_date, description = :description
WHERE arn = :arn;

-- name: delete_alias
DELETE FROM aliases WHERE arn = :arn;

-- name: list_aliases
SELECT arn, state_machine_arn, name, routing_configuration, creation_date, update_date, description
FROM aliases
WHERE state_machine_arn = :state_machine_arn
ORDER BY creation_date, rowid;

-- activities and tags ----------------------------------------------------------------------

-- name: insert_activity
INSERT INTO activities (arn, name, creation_date) VALUES (:arn, :name, :creation_date);

-- name: get_activity
SELECT arn, name, creation_date FROM activities WHERE arn = :arn;

-- name: delete_activity
DELETE FROM activities WHERE arn = :arn;

-- name: list_activities
SELECT arn, name, creation_date FROM activities ORDER BY creation_date, rowid;

-- name: get_tags
SELECT key, value FROM tags WHERE resource_arn = :resource_arn ORDER BY key;

-- name: set_tag
INSERT INTO tags (resource_arn, key, value) VALUES (:resource_arn, :key, :value)
ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value;

-- name: remove_tag
DELETE FROM tags WHERE resource_arn = :resource_arn AND key = :key;

-- name: delete_tags
DELETE FROM tags WHERE resource_arn = :resource_arn;

-- executions -------------------------------------------------------------------------------

-- name: insert_execution
-- definition_id: the row of its text in definitions (see SqlStore._definition_ids).
INSERT INTO executions (
    arn, state_machine_arn, name, type, status, input, start_date, definition_id, role_arn,
    version_arn, alias_arn, output, error, cause, stop_date, run_state, next_event_id,
    redrive_count, redrive_date, trace_header, map_run_arn, state_machine_revision_id,
    item_count, map_run_event_id, item_index
) VALUES (
    :arn, :state_machine_arn, :name, :type, :status, :input, :start_date, :definition_id,
    :role_arn, :version_arn, :alias_arn, :output, :error, :cause, :stop_date, :run_state,
    :next_event_id, :redrive_count, :redrive_date, :trace_header, :map_run_arn,
    :state_machine_revision_id, :item_count, :map_run_event_id, :item_index
);

-- name: get_execution
-- The definition's text comes from the store's cache of definitions by id.
SELECT arn, state_machine_arn, name, type, status, input, start_date, definition_id, role_arn,
    version_arn, alias_arn, output, error, cause, stop_date, run_state, next_event_id,
    redrive_count, redrive_date, trace_header, map_run_arn, state_machine_revision_id,
    item_count, map_run_event_id, item_index
FROM executions WHERE arn = :arn;

-- name: list_executions
-- The filters placeholder becomes one "AND <column> = :<column>" per filter given (the
-- columns come from a fixed list in sql.py), rather than "(:x IS NULL OR x = :x)"
-- terms, which would keep SQLite from using the indexes on state machine and status.
-- A listing does not read the definitions.
SELECT arn, state_machine_arn, name, type, status, input, start_date, role_arn,
    version_arn, alias_arn, output, error, cause, stop_date, run_state, next_event_id,
    redrive_count, redrive_date, trace_header, map_run_arn, state_machine_revision_id,
    item_count, map_run_event_id, item_index
FROM executions
WHERE 1 = 1 {filters}
ORDER BY start_date DESC, rowid DESC
LIMIT :limit OFFSET :offset;

-- name: list_execution_summaries
-- list_executions without the large columns (input, output, definition, run state).
SELECT arn, state_machine_arn, name, status, start_date, stop_date, version_arn, alias_arn,
    map_run_arn, item_count, redrive_count, redrive_date
FROM executions
WHERE 1 = 1 {filters}
ORDER BY start_date DESC, rowid DESC
LIMIT :limit OFFSET :offset;

-- name: update_execution
UPDATE executions SET
    state_machine_arn = :state_machine_arn, name = :name, type = :type, status = :status,
    input = :input, start_date = :start_date, definition_id = :definition_id,
    role_arn = :role_arn, version_arn = :version_arn, alias_arn = :alias_arn,
    output = :output, error = :error, cause = :cause, stop_date = :stop_date,
    run_state = :run_state, next_event_id = :next_event_id, redrive_count = :redrive_count,
    redrive_date = :redrive_date, trace_header = :trace_header, map_run_arn = :map_run_arn,
    state_machine_revision_id = :state_machine_revision_id, item_count = :item_count,
    map_run_event_id = :map_run_event_id, item_index = :item_index
WHERE arn = :arn;

-- name: commit_execution
-- The optimistic lock of a step: it matches no row once another writer has moved
-- next_event_id on, nor (a step made from a run state kept in memory) once the row's run
-- state is not the one the step started from, nor (a server holding the execution's
-- lease: :lease_owner) once another server has taken the execution over. A leased step
-- gives the lease up in the same statement: whoever sees the next stimulus first claims
-- the execution again; an unleased one leaves the lease as it is. A step that does not
-- finish the execution leaves its result alone; a redrive (:redrive = 1, with a redrive
-- count) clears it.
UPDATE executions SET
    lease_owner = CASE WHEN CAST(:lease_owner AS TEXT) IS NULL THEN lease_owner END,
    lease_expires = CASE WHEN CAST(:lease_owner AS TEXT) IS NULL THEN lease_expires END,
    next_event_id = :next_event_id,
    run_state = :run_state,
    status = :status,
    output = CASE WHEN :redrive = 0 THEN coalesce(:output, output) END,
    error = CASE WHEN :redrive = 0 THEN coalesce(:error, error) END,
    cause = CASE WHEN :redrive = 0 THEN coalesce(:cause, cause) END,
    stop_date = CASE WHEN :redrive = 0 THEN coalesce(:stop_date, stop_date) END,
    redrive_count = coalesce(:redrive_count, redrive_count),
    redrive_date = CASE WHEN :redrive = 0 THEN redrive_date ELSE :redrive_date END
WHERE arn = :execution_arn AND next_event_id = :expected_next_event_id
    AND (CAST(:expected_run_state AS TEXT) IS NULL OR run_state = :expected_run_state)
    AND (CAST(:lease_owner AS TEXT) IS NULL OR lease_owner = :lease_owner);

-- name: put_definition
INSERT INTO definitions (digest, definition) VALUES (:digest, :definition)
ON CONFLICT (digest) DO NOTHING;

-- name: definition_id
SELECT id FROM definitions WHERE digest = :digest;

-- name: get_definition
SELECT definition FROM definitions WHERE id = :id;

-- name: end_child_execution
-- A child execution (a distributed Map's item) ended in a step of its parent: the parent
-- holds its run state, so the child's row changes only here.
UPDATE executions SET
    status = ?, output = ?, error = ?, cause = ?, stop_date = ?, next_event_id = ?
WHERE arn = ?;

-- name: redrive_child_execution
-- A child execution redriven in a step of its parent (which redrove its map run): running
-- again with its last result cleared, or already ended again within that step.
UPDATE executions SET
    status = ?, output = ?, error = ?, cause = ?, stop_date = ?, next_event_id = ?,
    redrive_count = ?, redrive_date = ?
WHERE arn = ?;

-- name: count_executions
-- Counted on the index on (state machine, status, start date), one range of it per
-- status: the rows are not read, and a count of an equality range of an index costs
-- half of a GROUP BY over the state machine's entries (SQLite, 10,000 executions).
SELECT
    (SELECT count(*) FROM executions
     WHERE state_machine_arn = :state_machine_arn AND status = 'RUNNING'),
    (SELECT count(*) FROM executions
     WHERE state_machine_arn = :state_machine_arn AND status = 'SUCCEEDED'),
    (SELECT count(*) FROM executions
     WHERE state_machine_arn = :state_machine_arn AND status = 'FAILED'),
    (SELECT count(*) FROM executions
     WHERE state_machine_arn = :state_machine_arn AND status = 'TIMED_OUT'),
    (SELECT count(*) FROM executions
     WHERE state_machine_arn = :state_machine_arn AND status = 'ABORTED'),
    (SELECT count(*) FROM executions
     WHERE state_machine_arn = :state_machine_arn AND status = 'PENDING_REDRIVE');

-- name: count_map_run_children
SELECT status, count(*), coalesce(sum(item_count), 0) FROM executions
WHERE map_run_arn = :map_run_arn AND map_run_event_id = :map_run_event_id
GROUP BY status;

-- events -------------------------------------------------------------------------------------

-- name: insert_event
INSERT INTO events (execution_arn, id, previous_event_id, timestamp, type, details)
VALUES (?, ?, ?, ?, ?, ?);

-- name: events_forward
SELECT id, previous_event_id, timestamp, type, details FROM events
WHERE execution_arn = :execution_arn AND id > :after_id
ORDER BY id
LIMIT :limit;

-- name: events_reverse
SELECT id, previous_event_id, timestamp, type, details FROM events
WHERE execution_arn = :execution_arn AND id < :before_id
ORDER BY id DESC
LIMIT :limit;

-- name: count_events
SELECT count(*) FROM events WHERE execution_arn = :execution_arn;

-- inbox ---------------------------------------------------------------------------------------

-- name: insert_inbox
INSERT INTO inbox (execution_arn, stimulus, created) VALUES (?, ?, ?);

-- name: add_inbox
INSERT INTO inbox (execution_arn, stimulus, created) VALUES (:execution_arn, :stimulus, :created)
RETURNING id;

-- name: delete_inbox
DELETE FROM inbox WHERE id = ? AND execution_arn = ?;

-- name: list_inbox
SELECT id, execution_arn, stimulus, created FROM inbox
WHERE execution_arn = :execution_arn
ORDER BY id;

-- name: executions_with_inbox
SELECT execution_arn FROM inbox
GROUP BY execution_arn
ORDER BY min(id)
LIMIT :limit;

-- timers --------------------------------------------------------------------------------------

-- name: upsert_timer
INSERT INTO timers (execution_arn, timer_id, due) VALUES (?, ?, ?)
ON CONFLICT (execution_arn, timer_id) DO UPDATE SET due = excluded.due;

-- name: delete_timer
DELETE FROM timers WHERE execution_arn = ? AND timer_id = ?;

-- name: next_timer_due
SELECT min(due) FROM timers;

-- tasks ---------------------------------------------------------------------------------------

-- name: insert_task
INSERT INTO tasks (
    token, execution_arn, resource, payload, state_name, kind, status, created,
    activity_arn, worker_name, timeout_seconds, heartbeat_seconds, attempt, lease_owner,
    lease_expires
) VALUES (
    :token, :execution_arn, :resource, :payload, :state_name, :kind, :status, :created,
    :activity_arn, :worker_name, :timeout_seconds, :heartbeat_seconds, :attempt, :lease_owner,
    :lease_expires
);

-- name: finish_task
UPDATE tasks SET status = 'done', lease_owner = NULL, lease_expires = NULL WHERE token = ?;

-- name: get_task
SELECT token, execution_arn, resource, payload, state_name, kind, status, created,
    activity_arn, worker_name, timeout_seconds, heartbeat_seconds, attempt
FROM tasks WHERE token = :token;

-- name: tasks_with_status
SELECT token, execution_arn, resource, payload, state_name, kind, status, created,
    activity_arn, worker_name, timeout_seconds, heartbeat_seconds, attempt
FROM tasks
WHERE status = :status AND (CAST(:kind AS TEXT) IS NULL OR kind = :kind)
ORDER BY created, rowid;

-- name: mark_task
-- A worker name given replaces the stored one; None keeps it.
UPDATE tasks SET status = :status, worker_name = coalesce(:worker_name, worker_name)
WHERE token = :token;

-- log groups, streams and events (CloudWatch Logs) --------------------------------------------

-- name: claim_activity_task
-- One statement, so that two pollers never take the same task: a task another poller
-- holds is skipped (PostgreSQL; SQLite has one writer), and the status is checked again
-- on the row updated.
UPDATE tasks SET status = 'dispatched', worker_name = :worker_name
WHERE token = (
    SELECT token FROM tasks
    WHERE activity_arn = :activity_arn AND status = 'scheduled'
    ORDER BY created, rowid
    LIMIT 1
    {skip_locked}
) AND status = 'scheduled'
RETURNING token, execution_arn, resource, payload, state_name, kind, status, created,
    activity_arn, worker_name, timeout_seconds, heartbeat_seconds, attempt;

-- name: insert_log_group
INSERT INTO log_groups (name, creation_time, retention_in_days, kms_key_id, log_group_class)
VALUES (:name, :creation_time, :retention_in_days, :kms_key_id, :log_group_class);

-- name: ensure_log_group
-- A group that execution logs are delivered to before anyone created it.
INSERT INTO log_groups (name, creation_time, retention_in_days, kms_key_id, log_group_class)
VALUES (?, ?, NULL, NULL, 'STANDARD')
ON CONFLICT (name) DO NOTHING;

-- name: update_log_group
UPDATE log_groups SET
    retention_in_days = :retention_in_days, kms_key_id = :kms_key_id,
    log_group_class = :log_group_class
WHERE name = :name;

-- name: list_log_groups
-- The sum cast back to an integer: PostgreSQL sums BIGINTs as NUMERIC (a Decimal).
-- substr rather than LIKE: a prefix may hold LIKE's wildcards (_ is common in names).
SELECT g.name, g.creation_time, g.retention_in_days, g.kms_key_id, g.log_group_class,
    CAST(coalesce(
        (SELECT sum(s.stored_bytes) FROM log_streams s WHERE s.log_group_name = g.name), 0
    ) AS BIGINT) AS stored_bytes
FROM log_groups g
WHERE CAST(:prefix AS TEXT) IS NULL OR substr(g.name, 1, length(CAST(:prefix AS TEXT))) = :prefix
ORDER BY g.name;

-- name: get_log_group
SELECT g.name, g.creation_time, g.retention_in_days, g.kms_key_id, g.log_group_class,
    CAST(coalesce(
        (SELECT sum(s.stored_bytes) FROM log_streams s WHERE s.log_group_name = g.name), 0
    ) AS BIGINT) AS stored_bytes
FROM log_groups g
WHERE g.name = :name;

-- name: delete_log_group_events
DELETE FROM log_events WHERE log_group_name = :name;

-- name: delete_log_group_streams
DELETE FROM log_streams WHERE log_group_name = :name;

-- name: delete_log_group
DELETE FROM log_groups WHERE name = :name;

-- name: insert_log_stream
INSERT INTO log_streams (
    log_group_name, name, creation_time, first_event_timestamp, last_event_timestamp,
    last_ingestion_time, stored_bytes
) VALUES (
    :log_group_name, :name, :creation_time, :first_event_timestamp, :last_event_timestamp,
    :last_ingestion_time, :stored_bytes
);

-- name: add_to_log_stream
-- A stream gets its events' statistics, and is created by its first events. (coalesce:
-- SQLite's scalar min() and max() are NULL when an argument is; PostgreSQL's least()
-- and greatest() pass NULLs over.)
INSERT INTO log_streams (
    log_group_name, name, creation_time, first_event_timestamp, last_event_timestamp,
    last_ingestion_time, stored_bytes
) VALUES (
    :log_group_name, :name, :ingestion_time, :first_event_timestamp, :last_event_timestamp,
    :ingestion_time, :stored_bytes
)
ON CONFLICT (log_group_name, name) DO UPDATE SET
    first_event_timestamp = {least}(
        coalesce(log_streams.first_event_timestamp, excluded.first_event_timestamp),
        excluded.first_event_timestamp
    ),
    last_event_timestamp = {greatest}(
        coalesce(log_streams.last_event_timestamp, excluded.last_event_timestamp),
        excluded.last_event_timestamp
    ),
    last_ingestion_time = {greatest}(
        coalesce(log_streams.last_ingestion_time, excluded.last_ingestion_time),
        excluded.last_ingestion_time
    ),
    stored_bytes = log_streams.stored_bytes + excluded.stored_bytes;

-- name: list_log_streams
SELECT log_group_name, name, creation_time, first_event_timestamp, last_event_timestamp,
    last_ingestion_time, stored_bytes
FROM log_streams
WHERE log_group_name = :log_group_name
    AND (CAST(:prefix AS TEXT) IS NULL
        OR substr(name, 1, length(CAST(:prefix AS TEXT))) = :prefix)
ORDER BY name;

-- name: delete_log_stream_events
DELETE FROM log_events WHERE log_group_name = :log_group_name AND log_stream_name = :name;

-- name: delete_log_stream
DELETE FROM log_streams WHERE log_group_name = :log_group_name AND name = :name;

-- name: insert_log_event
INSERT INTO log_events (log_group_name, log_stream_name, timestamp, ingestion_time, message)
VALUES (?, ?, ?, ?, ?);

-- name: log_events_forward
-- The filters placeholder is replaced by the store with fixed conditions (the
-- log_filter_* fragments) on the named parameters.
SELECT id, log_group_name, log_stream_name, timestamp, message, ingestion_time
FROM log_events
WHERE log_group_name = :log_group_name{filters}
ORDER BY timestamp, id
LIMIT :limit;

-- name: log_events_reverse
SELECT id, log_group_name, log_stream_name, timestamp, message, ingestion_time
FROM log_events
WHERE log_group_name = :log_group_name{filters}
ORDER BY timestamp DESC, id DESC
LIMIT :limit;

-- The conditions log_events adds for the arguments given, beside log_filter_streams and
-- log_filter_terms of the dialect files (fragments, not statements, without comments:
-- they are put inside a line). Row values compare (timestamp, id) positions as
-- pagination tokens name them.

-- name: log_filter_stream_prefix
 AND substr(log_stream_name, 1, length(CAST(:stream_prefix AS TEXT))) = :stream_prefix

-- name: log_filter_start
 AND timestamp >= :start

-- name: log_filter_end
 AND timestamp < :end

-- name: log_filter_after
 AND (timestamp, id) > (:after_timestamp, :after_id)

-- name: log_filter_before
 AND (timestamp, id) < (:before_timestamp, :before_id)

-- leases ----------------------------------------------------------------------------------------
-- A server holds what it claimed until lease_expires; renewing moves that on, and once it
-- has passed another server may take the work over (claim_executions, claim_tasks).

-- name: claim_tasks
-- Invoke (and callback) tasks to run: scheduled ones, and dispatched ones whose lease ran
-- out (their server died: taken over, run again at least once as AWS does), oldest first.
-- Rows another server is claiming at the same moment are skipped, not waited for (see
-- claim_executions).
WITH picked AS MATERIALIZED (
    SELECT token FROM tasks
    WHERE kind IN ('invoke', 'callback') AND (
        status = 'scheduled'
        OR (status = 'dispatched' AND lease_expires IS NOT NULL AND lease_expires < :now)
    )
    ORDER BY created, rowid
    LIMIT :limit
    {skip_locked}
)
UPDATE tasks SET status = 'dispatched', lease_owner = :owner, lease_expires = :expires
FROM picked
WHERE tasks.token = picked.token
    AND (tasks.status = 'scheduled' OR (tasks.status = 'dispatched' AND tasks.lease_expires < :now))
RETURNING tasks.token, tasks.execution_arn, tasks.resource, tasks.payload, tasks.state_name,
    tasks.kind, tasks.status, tasks.created, tasks.activity_arn, tasks.worker_name,
    tasks.timeout_seconds, tasks.heartbeat_seconds, tasks.attempt;

-- name: renew_execution_lease
UPDATE executions SET lease_expires = ? WHERE arn = ? AND lease_owner = ?;

-- name: renew_task_lease
UPDATE tasks SET lease_expires = ? WHERE token = ? AND lease_owner = ? AND status = 'dispatched';

-- name: release_execution
UPDATE executions SET lease_owner = NULL, lease_expires = NULL
WHERE arn = :arn AND lease_owner = :owner;

-- name: release_owner_executions
UPDATE executions SET lease_owner = NULL, lease_expires = NULL WHERE lease_owner = :owner;

-- name: claim_named_execution
UPDATE executions SET lease_owner = :owner, lease_expires = :expires
WHERE arn = :arn AND (lease_owner IS NULL OR lease_expires < :now)
RETURNING arn;

-- name: release_executions
UPDATE executions SET lease_owner = NULL, lease_expires = NULL
WHERE arn = ? AND lease_owner = ?;

-- name: release_task
-- A callback's message was delivered: nothing is left to take over if its server dies.
UPDATE tasks SET lease_owner = NULL, lease_expires = NULL
WHERE token = :token AND lease_owner = :owner;

-- name: execution_lease
SELECT lease_owner, lease_expires FROM executions WHERE arn = :arn;

-- name: complete_task
-- The task's mark, in the transaction that queues its result: a result is delivered
-- once, and a task answered twice (a retry, a second server) changes nothing.
UPDATE tasks SET status = 'done', lease_owner = NULL, lease_expires = NULL
WHERE token = :token AND status != 'done'
RETURNING execution_arn;

-- Lambda functions -------------------------------------------------------------------------

-- name: put_function_version
INSERT INTO functions (name, version, config, code_digest, code_size, code_location,
                       created, modified)
VALUES (:name, :version, :config, :code_digest, :code_size, :code_location, :created,
        :modified)
ON CONFLICT (name, version) DO UPDATE SET config = excluded.config,
    code_digest = excluded.code_digest, code_size = excluded.code_size,
    code_location = excluded.code_location, modified = excluded.modified;

-- name: get_function_version
SELECT name, version, config, code_digest, code_size, code_location, created, modified,
       last_published
FROM functions WHERE name = :name AND version = :version;

-- name: list_function_versions
SELECT name, version, config, code_digest, code_size, code_location, created, modified,
       last_published
FROM functions WHERE name = :name;

-- name: list_functions_latest
SELECT name, version, config, code_digest, code_size, code_location, created, modified,
       last_published
FROM functions WHERE version = '$LATEST' ORDER BY name;

-- name: set_function_last_published
UPDATE functions SET last_published = :number WHERE name = :name AND version = '$LATEST';

-- name: delete_function_version
DELETE FROM functions WHERE name = :name AND version = :version;

-- name: delete_function_versions
DELETE FROM functions WHERE name = :name;

-- name: put_function_alias
INSERT INTO function_aliases (name, alias, version, description, revision_id)
VALUES (:name, :alias, :version, :description, :revision_id)
ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version,
    description = excluded.description, revision_id = excluded.revision_id;

-- name: get_function_alias
SELECT name, alias, version, description, revision_id FROM function_aliases
WHERE name = :name AND alias = :alias;

-- name: list_function_aliases
SELECT name, alias, version, description, revision_id FROM function_aliases
WHERE name = :name ORDER BY alias;

-- name: delete_function_alias
DELETE FROM function_aliases WHERE name = :name AND alias = :alias;

-- name: delete_function_aliases
DELETE FROM function_aliases WHERE name = :name;

-- name: add_function_statement
INSERT INTO function_policies (name, qualifier, sid, statement, seq)
SELECT :name, :qualifier, :sid, :statement,
       COALESCE(MAX(seq), 0) + 1 FROM function_policies
WHERE name = :name AND qualifier = :qualifier;

-- name: function_statements
SELECT sid, statement FROM function_policies
WHERE name = :name AND qualifier = :qualifier ORDER BY seq;

-- name: remove_function_statement
DELETE FROM function_policies WHERE name = :name AND qualifier = :qualifier AND sid = :sid;

-- name: remove_function_statements
DELETE FROM function_policies WHERE name = :name;

-- name: remove_function_version_statements
DELETE FROM function_policies WHERE name = :name AND qualifier = :qualifier;

-- IAM ------------------------------------------------------------------------------------

-- name: insert_iam_role
INSERT INTO iam_roles (name, role_id, arn, path, assume_role_policy, description,
                       max_session_duration, create_date, tags)
VALUES (:name, :role_id, :arn, :path, :assume_role_policy, :description,
        :max_session_duration, :create_date, :tags);

-- name: get_iam_role
SELECT name, role_id, arn, path, assume_role_policy, description, max_session_duration,
       create_date, tags
FROM iam_roles WHERE name = :name;

-- name: update_iam_role
UPDATE iam_roles SET assume_role_policy = :assume_role_policy, description = :description,
    max_session_duration = :max_session_duration, tags = :tags
WHERE name = :name;

-- name: list_iam_roles
SELECT name, role_id, arn, path, assume_role_policy, description, max_session_duration,
       create_date, tags
FROM iam_roles ORDER BY name;

-- name: delete_iam_role
DELETE FROM iam_roles WHERE name = :name;

-- name: insert_iam_policy
INSERT INTO iam_policies (arn, name, policy_id, path, description, default_version_id,
                          next_version, create_date, update_date, tags)
VALUES (:arn, :name, :policy_id, :path, :description, :default_version_id,
        :next_version, :create_date, :update_date, :tags);

-- name: get_iam_policy
SELECT p.arn, p.name, p.policy_id, p.path, p.description, p.default_version_id,
       p.next_version, p.create_date, p.update_date, p.tags,
       (SELECT COUNT(*) FROM iam_role_attachments a WHERE a.policy_arn = p.arn)
           AS attachment_count
FROM iam_policies p WHERE p.arn = :arn;

-- name: list_iam_policies
SELECT p.arn, p.name, p.policy_id, p.path, p.description, p.default_version_id,
       p.next_version, p.create_date, p.update_date, p.tags,
       (SELECT COUNT(*) FROM iam_role_attachments a WHERE a.policy_arn = p.arn)
           AS attachment_count
FROM iam_policies p ORDER BY p.name;

-- name: update_iam_policy
UPDATE iam_policies SET description = :description, default_version_id = :default_version_id,
    next_version = :next_version, update_date = :update_date, tags = :tags
WHERE arn = :arn;

-- name: delete_iam_policy
DELETE FROM iam_policies WHERE arn = :arn;

-- name: insert_iam_policy_version
INSERT INTO iam_policy_versions (policy_arn, version_id, document, create_date)
VALUES (:policy_arn, :version_id, :document, :create_date);

-- name: list_iam_policy_versions
SELECT policy_arn, version_id, document, create_date FROM iam_policy_versions
WHERE policy_arn = :policy_arn ORDER BY create_date DESC, version_id DESC;

-- name: delete_iam_policy_version
DELETE FROM iam_policy_versions WHERE policy_arn = :policy_arn AND version_id = :version_id;

-- name: delete_iam_policy_versions
DELETE FROM iam_policy_versions WHERE policy_arn = :policy_arn;

-- name: attach_iam_role_policy
INSERT INTO iam_role_attachments (role_name, policy_arn) VALUES (:role_name, :policy_arn)
ON CONFLICT DO NOTHING;

-- name: detach_iam_role_policy
DELETE FROM iam_role_attachments WHERE role_name = :role_name AND policy_arn = :policy_arn;

-- name: list_iam_role_attachments
SELECT policy_arn FROM iam_role_attachments WHERE role_name = :role_name ORDER BY policy_arn;

-- name: put_iam_role_policy
INSERT INTO iam_role_policies (role_name, name, document) VALUES (:role_name, :name, :document)
ON CONFLICT (role_name, name) DO UPDATE SET document = excluded.document;

-- name: list_iam_role_policies
SELECT role_name, name, document FROM iam_role_policies
WHERE role_name = :role_name ORDER BY name;

-- name: delete_iam_role_policy
DELETE FROM iam_role_policies WHERE role_name = :role_name AND name = :name;
