-- 0001: the first PostgreSQL schema: SQLite's schema as its migrations 0001-0005 leave
-- it, in PostgreSQL's types.
--
-- Times are seconds since the epoch (DOUBLE PRECISION, as SQLite's REAL); CloudWatch
-- Logs times are milliseconds (BIGINT). Columns holding JSON documents are TEXT, stored
-- and read back as the exact text written. Text sorts by bytes (COLLATE "C"), as SQLite
-- sorts it, whatever the database's locale. Tables whose listings break ties by order
-- of insertion have an identity column named rowid, the name SQLite gives that order,
-- so that both dialects share those queries.

CREATE TABLE state_machines (
    arn TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    definition TEXT COLLATE "C" NOT NULL,
    role_arn TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    creation_date DOUBLE PRECISION NOT NULL,
    update_date DOUBLE PRECISION,
    status TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    revision_id TEXT COLLATE "C" NOT NULL,
    logging_configuration TEXT COLLATE "C" NOT NULL,
    tracing_configuration TEXT COLLATE "C" NOT NULL,
    encryption_configuration TEXT COLLATE "C" NOT NULL,
    label TEXT COLLATE "C",
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE versions (
    arn TEXT COLLATE "C" PRIMARY KEY,
    state_machine_arn TEXT COLLATE "C" NOT NULL REFERENCES state_machines (arn),
    version INTEGER NOT NULL,
    definition TEXT COLLATE "C" NOT NULL,
    role_arn TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    creation_date DOUBLE PRECISION NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    revision_id TEXT COLLATE "C" NOT NULL,
    logging_configuration TEXT COLLATE "C" NOT NULL,
    tracing_configuration TEXT COLLATE "C" NOT NULL,
    UNIQUE (state_machine_arn, version)
);

CREATE TABLE aliases (
    arn TEXT COLLATE "C" PRIMARY KEY,
    state_machine_arn TEXT COLLATE "C" NOT NULL REFERENCES state_machines (arn),
    name TEXT COLLATE "C" NOT NULL,
    routing_configuration TEXT COLLATE "C" NOT NULL,
    creation_date DOUBLE PRECISION NOT NULL,
    update_date DOUBLE PRECISION,
    description TEXT COLLATE "C" NOT NULL,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE INDEX aliases_by_state_machine ON aliases (state_machine_arn);

CREATE TABLE activities (
    arn TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    creation_date DOUBLE PRECISION NOT NULL,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE tags (
    resource_arn TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (resource_arn, key)
);

CREATE TABLE executions (
    arn TEXT COLLATE "C" PRIMARY KEY,
    state_machine_arn TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    input TEXT COLLATE "C" NOT NULL,
    start_date DOUBLE PRECISION NOT NULL,
    definition TEXT COLLATE "C" NOT NULL,
    role_arn TEXT COLLATE "C" NOT NULL,
    version_arn TEXT COLLATE "C",
    alias_arn TEXT COLLATE "C",
    output TEXT COLLATE "C",
    error TEXT COLLATE "C",
    cause TEXT COLLATE "C",
    stop_date DOUBLE PRECISION,
    run_state TEXT COLLATE "C",
    next_event_id INTEGER NOT NULL,
    redrive_count INTEGER NOT NULL,
    redrive_date DOUBLE PRECISION,
    trace_header TEXT COLLATE "C",
    map_run_arn TEXT COLLATE "C",
    state_machine_revision_id TEXT COLLATE "C" NOT NULL,
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
    execution_arn TEXT COLLATE "C" NOT NULL REFERENCES executions (arn),
    id INTEGER NOT NULL,
    previous_event_id INTEGER NOT NULL,
    timestamp DOUBLE PRECISION NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    details TEXT COLLATE "C",
    PRIMARY KEY (execution_arn, id)
);

CREATE TABLE inbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_arn TEXT COLLATE "C" NOT NULL REFERENCES executions (arn),
    stimulus TEXT COLLATE "C" NOT NULL,
    created DOUBLE PRECISION NOT NULL
);

CREATE INDEX inbox_by_execution ON inbox (execution_arn, id);

CREATE TABLE timers (
    execution_arn TEXT COLLATE "C" NOT NULL REFERENCES executions (arn),
    timer_id TEXT COLLATE "C" NOT NULL,
    due DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (execution_arn, timer_id)
);

CREATE INDEX timers_by_due ON timers (due);

CREATE TABLE tasks (
    token TEXT COLLATE "C" PRIMARY KEY,
    execution_arn TEXT COLLATE "C" NOT NULL REFERENCES executions (arn),
    resource TEXT COLLATE "C" NOT NULL,
    payload TEXT COLLATE "C" NOT NULL,
    state_name TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    activity_arn TEXT COLLATE "C",
    worker_name TEXT COLLATE "C",
    timeout_seconds DOUBLE PRECISION,
    heartbeat_seconds DOUBLE PRECISION,
    attempt INTEGER NOT NULL,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE INDEX tasks_by_activity ON tasks (activity_arn, status, created);
CREATE INDEX tasks_by_status ON tasks (status);

CREATE TABLE log_groups (
    name TEXT COLLATE "C" PRIMARY KEY,
    creation_time BIGINT NOT NULL,
    retention_in_days INTEGER,
    kms_key_id TEXT COLLATE "C",
    log_group_class TEXT COLLATE "C" NOT NULL
);

CREATE TABLE log_streams (
    log_group_name TEXT COLLATE "C" NOT NULL REFERENCES log_groups (name),
    name TEXT COLLATE "C" NOT NULL,
    creation_time BIGINT NOT NULL,
    first_event_timestamp BIGINT,
    last_event_timestamp BIGINT,
    last_ingestion_time BIGINT,
    stored_bytes BIGINT NOT NULL,
    PRIMARY KEY (log_group_name, name)
);

CREATE TABLE log_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    log_group_name TEXT COLLATE "C" NOT NULL,
    log_stream_name TEXT COLLATE "C" NOT NULL,
    timestamp BIGINT NOT NULL,
    ingestion_time BIGINT NOT NULL,
    message TEXT COLLATE "C" NOT NULL,
    FOREIGN KEY (log_group_name, log_stream_name) REFERENCES log_streams (log_group_name, name)
);

CREATE INDEX log_events_by_stream ON log_events (log_group_name, log_stream_name, timestamp, id);
CREATE INDEX log_events_by_group ON log_events (log_group_name, timestamp, id);
