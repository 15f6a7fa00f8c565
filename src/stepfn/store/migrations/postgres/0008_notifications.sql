-- 0008 (PostgreSQL only): wake-ups between the servers on one database. A write that
-- makes work another server may take sends a notification from its own transaction, so
-- that it is delivered when, and only if, that transaction commits: 'inbox' when stimuli
-- are queued (any server may claim their execution), 'activity' when an activity task is
-- scheduled (a GetActivityTask long poll on any server may take it). The channel is the
-- schema's (stepfn_<schema>, at most 63 bytes as PostgreSQL's names): stores in other
-- schemas of the database do not hear them. Servers listen there (store/pg_listener.py);
-- polling stays the fallback. Notifications alike in one transaction are sent once.
-- (The function's body is a quoted string, not $$: the migration splitter reads quotes.)
CREATE OR REPLACE FUNCTION stepfn_notify() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    PERFORM pg_notify(left(''stepfn_'' || TG_TABLE_SCHEMA, 63), TG_ARGV[0]);
    RETURN NULL;
END';

-- Once per statement: a group commit that queues a thousand stimuli sends one.
CREATE OR REPLACE TRIGGER inbox_notify AFTER INSERT ON inbox
FOR EACH STATEMENT EXECUTE FUNCTION stepfn_notify('inbox');

-- Per row, and only for activity tasks: invoke tasks are run by the server that wrote them.
CREATE OR REPLACE TRIGGER activity_task_notify AFTER INSERT ON tasks
FOR EACH ROW WHEN (NEW.kind = 'activity') EXECUTE FUNCTION stepfn_notify('activity');
