-- 0011: each definition text is stored once, in definitions, and executions refer to it
-- (they held a copy each: a Distributed Map of 10,000 items held 10,000). ``digest`` is
-- the SHA-256 of the text (hex), which the store computes when it writes a new one; the
-- copies moved here from existing executions get a placeholder digest instead (SQLite
-- has no SHA-256), so a later start of the same text may add one more row: harmless.
CREATE TABLE definitions (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL
);

INSERT INTO definitions (digest, definition)
SELECT 'copy:' || min(rowid), definition FROM executions GROUP BY definition;

-- Only while copying: each execution finds its text's row by the text.
CREATE INDEX definitions_by_text ON definitions (definition);

ALTER TABLE executions ADD COLUMN definition_id INTEGER REFERENCES definitions (id);

UPDATE executions
SET definition_id = (SELECT d.id FROM definitions d WHERE d.definition = executions.definition);

DROP INDEX definitions_by_text;

ALTER TABLE executions DROP COLUMN definition;
