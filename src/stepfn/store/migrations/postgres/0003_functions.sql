-- 0003: Lambda functions (SQLite's 0007). One row per version of a function ($LATEST or
-- a published number); last_published (on the $LATEST row) is the last version number
-- handed out, never reused.
CREATE TABLE functions (
    name TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    config TEXT COLLATE "C" NOT NULL,
    code_digest TEXT COLLATE "C" NOT NULL,
    code_size BIGINT NOT NULL,
    code_location TEXT COLLATE "C" NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    modified DOUBLE PRECISION NOT NULL,
    last_published BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (name, version)
);

CREATE TABLE function_aliases (
    name TEXT COLLATE "C" NOT NULL,
    alias TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    revision_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (name, alias)
);
