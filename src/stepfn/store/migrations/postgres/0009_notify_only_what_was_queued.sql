-- 0009 (PostgreSQL only): the inbox's notification only from a statement that queued
-- a stimulus. A statement-level trigger fires for an INSERT of no rows too, and the
-- single-statement commits (queries/postgres.sql: commit_steps, complete_tasks) hold an
-- INSERT into the inbox whether or not the step queued anything: without the check,
-- every commit of a writer that steps nothing would wake every server. The executions
-- are looked up by key (= ANY of an array): a join with the queued rows, whose number
-- the plan cannot know, may be planned as a scan of every execution.
CREATE OR REPLACE FUNCTION stepfn_notify_inbox() RETURNS trigger LANGUAGE plpgsql AS '
DECLARE
    mine TEXT := coalesce(current_setting(''stepfn.owner'', true), '''');
BEGIN
    IF EXISTS (SELECT 1 FROM queued) AND (mine = '''' OR EXISTS (
        SELECT 1 FROM executions e
        WHERE e.arn = ANY(ARRAY(SELECT execution_arn FROM queued))
            AND e.lease_owner IS NOT NULL AND e.lease_owner <> mine
    )) THEN
        PERFORM pg_notify(left(''stepfn_'' || TG_TABLE_SCHEMA, 63), ''inbox'');
    END IF;
    RETURN NULL;
END';
