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
