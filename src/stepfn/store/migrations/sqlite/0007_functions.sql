-- 0007: Lambda functions. One row per version of a function ($LATEST or a published
-- number): its configuration as JSON, where its unpacked code lives and the code's
-- identity. last_published (on the $LATEST row) is the last version number handed out:
-- Lambda never reuses one, even after its version is deleted.
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
