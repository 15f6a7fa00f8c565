-- 0003: CloudWatch Logs, where executions' logging configurations deliver their events.
--
-- Times here are milliseconds since the epoch (INTEGER), as CloudWatch Logs keeps them.
-- Log groups are named, not ARN-keyed: stepfn serves one account and region.

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
