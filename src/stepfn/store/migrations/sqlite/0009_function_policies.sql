-- 0009: Lambda resource policies (AddPermission). One row per statement of the policy of
-- a function or of one of its qualifiers ('' for the unqualified function); statement is
-- the statement's JSON text, seq keeps the order they were added in.
CREATE TABLE function_policies (
    name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    sid TEXT NOT NULL,
    statement TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (name, qualifier, sid)
) WITHOUT ROWID;
