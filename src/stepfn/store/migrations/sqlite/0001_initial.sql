-- 0001: the first schema.
--
-- Times are seconds since the epoch (REAL). Columns holding JSON documents are TEXT.
-- Executions outlive their state machine (AWS keeps their history after
-- DeleteStateMachine), so nothing in executions refers to state_machines.

CREATE TABLE state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    type TEXT NOT NULL,
    creation_date REAL NOT NULL,
    update_date REAL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    logging_configuration TEXT NOT NULL,
    tracing_configuration TEXT NOT NULL,
    encryption_configuration TEXT NOT NULL,
    label TEXT
);

CREATE TABLE versions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL REFERENCES state_machines (arn),
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    type TEXT NOT NULL,
    creation_date REAL NOT NULL,
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
    creation_date REAL NOT NULL,
    update_date REAL,
    description TEXT NOT NULL
);

CREATE INDEX aliases_by_state_machine ON aliases (state_machine_arn);

CREATE TABLE activities (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    creation_date REAL NOT NULL
);

-- Tags of any resource (state machines, activities); removed with their resource.
CREATE TABLE tags (
    resource_arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
) WITHOUT ROWID;

CREATE TABLE executions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    start_date REAL NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    version_arn TEXT,
    alias_arn TEXT,
    output TEXT,
    error TEXT,
    cause TEXT,
    stop_date REAL,
    run_state TEXT,
    -- The id the next history event gets: a step commits only while it is unchanged.
    next_event_id INTEGER NOT NULL,
    redrive_count INTEGER NOT NULL,
    redrive_date REAL,
    trace_header TEXT,
    map_run_arn TEXT,
    state_machine_revision_id TEXT NOT NULL
);

CREATE INDEX executions_by_state_machine ON executions (state_machine_arn, start_date);
CREATE INDEX executions_by_status ON executions (status);
-- Only Distributed Map children have a map run; the others need no index entry.
CREATE INDEX executions_by_map_run ON executions (map_run_arn) WHERE map_run_arn IS NOT NULL;

-- Clustered on (execution, id): a history is read in id order, so its rows sit together.
CREATE TABLE events (
    execution_arn TEXT NOT NULL REFERENCES executions (arn),
    id INTEGER NOT NULL,
    previous_event_id INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    type TEXT NOT NULL,
    details TEXT,
    PRIMARY KEY (execution_arn, id)
) WITHOUT ROWID;

-- AUTOINCREMENT so that a message id is never reused, even after the newest is consumed:
-- ids are the order in which stimuli arrived.
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_arn TEXT NOT NULL REFERENCES executions (arn),
    stimulus TEXT NOT NULL,
    created REAL NOT NULL
);

CREATE INDEX inbox_by_execution ON inbox (execution_arn, id);

CREATE TABLE timers (
    execution_arn TEXT NOT NULL REFERENCES executions (arn),
    timer_id TEXT NOT NULL,
    due REAL NOT NULL,
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
    created REAL NOT NULL,
    activity_arn TEXT,
    worker_name TEXT,
    timeout_seconds REAL,
    heartbeat_seconds REAL,
    attempt INTEGER NOT NULL
);

CREATE INDEX tasks_by_activity ON tasks (activity_arn, status, created);
CREATE INDEX tasks_by_status ON tasks (status);
