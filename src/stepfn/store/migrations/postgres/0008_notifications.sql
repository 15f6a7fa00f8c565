-- 0008 (PostgreSQL only): wake-ups between the servers on one database. A write that
-- makes work for another server sends a notification from its own transaction, so that
-- it is delivered when, and only if, that transaction commits: 'inbox' when stimuli are
-- queued, 'activity' when an activity task is scheduled (a GetActivityTask long poll on
-- any server may take it). The channel is the schema's (stepfn_<schema>, at most 63
-- bytes as PostgreSQL's names): stores in other schemas do not hear them. Servers listen
-- there (store/pg_listener.py); polling stays the fallback. Alike notifications of one
-- transaction are sent once.
--
-- A server that steps executions names its lease owner in its sessions (the setting
-- stepfn.owner, see postgres.py): it wakes itself for the stimuli it queues, so those
-- are news only when another owner holds the execution (it is stepping it, and must
-- claim it again once its step is committed). Writers that step nothing (a CLI, a
-- read-only engine) have no owner, and every stimulus they queue is sent. Sending no
-- more than that matters: PostgreSQL makes the commits that notify take turns.
-- (The functions' bodies are quoted strings, not $$: the migration splitter reads
-- quotes.)
CREATE OR REPLACE FUNCTION stepfn_notify_inbox() RETURNS trigger LANGUAGE plpgsql AS '
DECLARE
    mine TEXT := coalesce(current_setting(''stepfn.owner'', true), '''');
BEGIN
    IF mine = '''' OR EXISTS (
        SELECT 1 FROM queued q JOIN executions e ON e.arn = q.execution_arn
        WHERE e.lease_owner IS NOT NULL AND e.lease_owner <> mine
    ) THEN
        PERFORM pg_notify(left(''stepfn_'' || TG_TABLE_SCHEMA, 63), ''inbox'');
    END IF;
    RETURN NULL;
END';

CREATE OR REPLACE FUNCTION stepfn_notify_activity() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    PERFORM pg_notify(left(''stepfn_'' || TG_TABLE_SCHEMA, 63), ''activity'');
    RETURN NULL;
END';

-- Once per statement: a batch that queues a thousand stimuli sends one.
CREATE OR REPLACE TRIGGER inbox_notify AFTER INSERT ON inbox
REFERENCING NEW TABLE AS queued
FOR EACH STATEMENT EXECUTE FUNCTION stepfn_notify_inbox();

-- Per row, and only for activity tasks: invoke tasks are run by the server that wrote them.
CREATE OR REPLACE TRIGGER activity_task_notify AFTER INSERT ON tasks
FOR EACH ROW WHEN (NEW.kind = 'activity') EXECUTE FUNCTION stepfn_notify_activity();
