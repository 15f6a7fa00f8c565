-- The schema as all migrations together leave it (without schema_migrations, which the
-- migration runner keeps), for readers. Not run by the store: tests/store/test_migrations.py checks that
-- a database migrated from empty has exactly this schema. Adding a migration? Change this
-- file to match.

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

-- Each definition text once (executions refer to it); digest: its SHA-256 (hex).
CREATE TABLE definitions (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL
);

CREATE TABLE executions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    start_date REAL NOT NULL,
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
    state_machine_revision_id TEXT NOT NULL,
    -- Distributed Map children: the items they run, and which run of the map run.
    item_count INTEGER,
    map_run_event_id INTEGER,
    -- ... and the index of their item (or batch) in their Map.
    item_index INTEGER,
    -- The server stepping it, and until when (see 0006_leases).
    lease_owner TEXT,
    lease_expires REAL,
    -- The definition it runs (see 0011_definitions).
    definition_id INTEGER REFERENCES definitions (id)
);

CREATE INDEX executions_by_state_machine ON executions (state_machine_arn, start_date);
CREATE INDEX executions_by_state_machine_and_status
    ON executions (state_machine_arn, status, start_date);
-- Only Distributed Map children have a map run; the others need no index entry.
CREATE INDEX executions_by_map_run
    ON executions (map_run_arn, map_run_event_id, start_date)
    WHERE map_run_arn IS NOT NULL;
CREATE INDEX executions_by_lease_owner ON executions (lease_owner) WHERE lease_owner IS NOT NULL;

-- Rows in the order written (a page holds an event of a few KiB whole); the primary
-- key's index reads a history in id order.
CREATE TABLE events (
    execution_arn TEXT NOT NULL REFERENCES executions (arn),
    id INTEGER NOT NULL,
    previous_event_id INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    type TEXT NOT NULL,
    details TEXT,
    PRIMARY KEY (execution_arn, id)
);

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
    attempt INTEGER NOT NULL,
    lease_owner TEXT,
    lease_expires REAL
);

CREATE INDEX tasks_by_activity ON tasks (activity_arn, status, created);
CREATE INDEX tasks_by_status ON tasks (status);
CREATE INDEX tasks_by_lease ON tasks (lease_expires) WHERE lease_expires IS NOT NULL;
CREATE INDEX tasks_by_lease_owner ON tasks (lease_owner) WHERE lease_owner IS NOT NULL;

-- CloudWatch Logs: times in milliseconds since the epoch.
CREATE TABLE log_groups (
    name TEXT PRIMARY KEY,
    creation_time INTEGER NOT NULL,
    retention_in_days INTEGER,
    kms_key_id TEXT,
    log_group_class TEXT NOT NULL
);

-- A stream's event statistics are kept up to date as events arrive, so that
-- DescribeLogStreams does not scan the events.
CREATE TABLE log_streams (
    log_group_name TEXT NOT NULL REFERENCES log_groups (name),
    name TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    first_event_timestamp INTEGER,
    last_event_timestamp INTEGER,
    last_ingestion_time INTEGER,
    stored_bytes INTEGER NOT NULL,
    PRIMARY KEY (log_group_name, name)
) WITHOUT ROWID;

-- id is the order of arrival (AUTOINCREMENT: never reused, so a pagination token that
-- names one stays meaningful after deletions); reads go by (timestamp, id).
CREATE TABLE log_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    log_group_name TEXT NOT NULL,
    log_stream_name TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    ingestion_time INTEGER NOT NULL,
    message TEXT NOT NULL,
    FOREIGN KEY (log_group_name, log_stream_name) REFERENCES log_streams (log_group_name, name)
);

CREATE INDEX log_events_by_stream ON log_events (log_group_name, log_stream_name, timestamp, id);
CREATE INDEX log_events_by_group ON log_events (log_group_name, timestamp, id);

-- Lambda functions: one row per version; last_published on the $LATEST row.
CREATE TABLE functions (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    config TEXT NOT NULL,
    code_digest TEXT NOT NULL,
    code_size INTEGER NOT NULL,
    code_location TEXT NOT NULL,
    created REAL NOT NULL,
    modified REAL NOT NULL,
    last_published INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, version)
) WITHOUT ROWID;

CREATE TABLE function_aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version TEXT NOT NULL,
    description TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    PRIMARY KEY (name, alias)
) WITHOUT ROWID;

-- Lambda resource policies: one row per statement ('' qualifier: the function itself).
CREATE TABLE function_policies (
    name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    sid TEXT NOT NULL,
    statement TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (name, qualifier, sid)
) WITHOUT ROWID;

-- IAM: roles and managed policies; tags as a JSON list of {Key, Value}.
CREATE TABLE iam_roles (
    name TEXT PRIMARY KEY,
    role_id TEXT NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    assume_role_policy TEXT NOT NULL,
    description TEXT,
    max_session_duration INTEGER NOT NULL,
    create_date REAL NOT NULL,
    tags TEXT NOT NULL
);

CREATE TABLE iam_policies (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    path TEXT NOT NULL,
    description TEXT,
    default_version_id TEXT NOT NULL,
    next_version INTEGER NOT NULL,
    create_date REAL NOT NULL,
    update_date REAL NOT NULL,
    tags TEXT NOT NULL
);

CREATE TABLE iam_policy_versions (
    policy_arn TEXT NOT NULL REFERENCES iam_policies (arn),
    version_id TEXT NOT NULL,
    document TEXT NOT NULL,
    create_date REAL NOT NULL,
    PRIMARY KEY (policy_arn, version_id)
) WITHOUT ROWID;

CREATE TABLE iam_role_attachments (
    role_name TEXT NOT NULL REFERENCES iam_roles (name),
    policy_arn TEXT NOT NULL REFERENCES iam_policies (arn),
    PRIMARY KEY (role_name, policy_arn)
) WITHOUT ROWID;

CREATE INDEX iam_attachments_by_policy ON iam_role_attachments (policy_arn);

CREATE TABLE iam_role_policies (
    role_name TEXT NOT NULL REFERENCES iam_roles (name),
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (role_name, name)
) WITHOUT ROWID;
