-- History events move to a table with rowids. Clustered on (execution, id) without
-- rowids, every event of more than about 1,000 bytes (any with a sizeable input or
-- output) spilled into an overflow page of its own, and the history of a new execution
-- landed at a random place in the tree: twice the bytes written per commit and twice
-- the file. With rowids, rows are appended in the order they are written and hold up
-- to a page; the primary key's index still finds a history in id order.

CREATE TABLE events_by_rowid (
    execution_arn TEXT NOT NULL REFERENCES executions (arn),
    id INTEGER NOT NULL,
    previous_event_id INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    type TEXT NOT NULL,
    details TEXT,
    PRIMARY KEY (execution_arn, id)
);

INSERT INTO events_by_rowid (execution_arn, id, previous_event_id, timestamp, type, details)
SELECT execution_arn, id, previous_event_id, timestamp, type, details FROM events
ORDER BY execution_arn, id;

DROP TABLE events;

ALTER TABLE events_by_rowid RENAME TO events;

-- ListExecutions with a status filter reads one state machine's executions of that
-- status, newest first, a page at a time: an index on all three finds the page without
-- visiting the state machine's other executions. It replaces the index on status
-- alone, which no query used on its own.
DROP INDEX executions_by_status;

CREATE INDEX executions_by_state_machine_and_status
    ON executions (state_machine_arn, status, start_date);
