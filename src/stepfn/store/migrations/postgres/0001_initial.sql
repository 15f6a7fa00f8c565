-- 0001: the first PostgreSQL schema: SQLite's schema as its migrations 0001-0005 leave
-- it, in PostgreSQL's types.
--
-- Times are seconds since the epoch (DOUBLE PRECISION, as SQLite's REAL); CloudWatch
-- Logs times are milliseconds (BIGINT). Columns holding JSON documents are TEXT, stored
-- and read back as the exact text written. Tables whose listings break ties by order of
-- insertion have an identity column named rowid, the name SQLite gives that order, so
-- that both dialects share those queries.

CREATE TABLE state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    type TEXT NOT NULL,
    creation_date DOUBLE PRECISION NOT NULL,
    update_date DOUBLE PRECISION,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    logging_configuration TEXT NOT NULL,
    tracing_configuration TEXT NOT NULL,
    encryption_configuration TEXT NOT NULL,
    label TEXT,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE versions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL REFERENCES state_machines (arn),
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    type TEXT NOT NULL,
    creation_date DOUBLE PRECISION NOT NULL,
    description TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    logging_configuration TEXT NOT NULL,
    tracing_configuration TEXT NOT NULL,
    UNIQUE (state_machine_arn, version)
);

CREATE TABLE aliases (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL REFERENCES state_machines (arn),
    name TEXT NOT NULL,
    routing_configuration TEXT NOT NULL,
    creation_date DOUBLE PRECISION NOT NULL,
    update_date DOUBLE PRECISION,
    description TEXT NOT NULL,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE INDEX aliases_by_state_machine ON aliases (state_machine_arn);

CREATE TABLE activities (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    creation_date DOUBLE PRECISION NOT NULL,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE tags (
    resource_arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
);

CREATE TABLE executions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    start_date DOUBLE PRECISION NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    version_arn TEXT,
    alias_arn TEXT,
    output TEXT,
    error TEXT,
    cause TEXT,
    stop_date DOUBLE PRECISION,
    run_state TEXT,
    next_event_id INTEGER NOT NULL,
    redrive_count INTEGER NOT NULL,
    redrive_date DOUBLE PRECISION,
    trace_header TEXT,
    map_run_arn TEXT,
    state_machine_revision_id TEXT NOT NULL,
    item_count INTEGER,
    map_run_event_id INTEGER,
    item_index INTEGER,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE INDEX executions_by_state_machine ON executions (state_machine_arn, start_date);
CREATE INDEX executions_by_state_machine_and_status
    ON executions (state_machine_arn, status, start_date);
CREATE INDEX executions_by_map_run
    ON executions (map_run_arn, map_run_event_id, start_date)
    WHERE map_run_arn IS NOT NULL;

CREATE TABLE events (
    execution_arn TEXT NOT NULL REFERENCES executions (arn),
    id INTEGER NOT NULL,
    previous_event_id INTEGER NOT NULL,
    timestamp DOUBLE PRECISION NOT NULL,
    type TEXT NOT NULL,
    details TEXT,
    PRIMARY KEY (execution_arn, id)
);

CREATE TABLE inbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_arn TEXT NOT NULL REFERENCES executions (arn),
    stimulus TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);

CREATE INDEX inbox_by_execution ON inbox (execution_arn, id);

CREATE TABLE timers (
    execution_arn TEXT NOT NULL REFERENCES executions (arn),
    timer_id TEXT NOT NULL,
    due DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (execution_arn, timer_id)
);

CREATE INDEX timers_by_due ON timers (due);

CREATE TABLE tasks (
    token TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL REFERENCES executions (arn),
    resource TEXT NOT NULL,
    payload TEXT NOT NULL,
    state_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    activity_arn TEXT,
    worker_name TEXT,
    timeout_seconds DOUBLE PRECISION,
    heartbeat_seconds DOUBLE PRECISION,
    attempt INTEGER NOT NULL,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE INDEX tasks_by_activity ON tasks (activity_arn, status, created);
CREATE INDEX tasks_by_status ON tasks (status);

CREATE TABLE log_groups (
    name TEXT PRIMARY KEY,
    creation_time BIGINT NOT NULL,
    retention_in_days INTEGER,
    kms_key_id TEXT,
    log_group_class TEXT NOT NULL
);

CREATE TABLE log_streams (
    log_group_name TEXT NOT NULL REFERENCES log_groups (name),
    name TEXT NOT NULL,
    creation_time BIGINT NOT NULL,
    first_event_timestamp BIGINT,
    last_event_timestamp BIGINT,
    last_ingestion_time BIGINT,
    stored_bytes BIGINT NOT NULL,
    PRIMARY KEY (log_group_name, name)
);

CREATE TABLE log_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    log_group_name TEXT NOT NULL,
    log_stream_name TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    ingestion_time BIGINT NOT NULL,
    message TEXT NOT NULL,
    FOREIGN KEY (log_group_name, log_stream_name) REFERENCES log_streams (log_group_name, name)
);

CREATE INDEX log_events_by_stream ON log_events (log_group_name, log_stream_name, timestamp, id);
CREATE INDEX log_events_by_group ON log_events (log_group_name, timestamp, id);
