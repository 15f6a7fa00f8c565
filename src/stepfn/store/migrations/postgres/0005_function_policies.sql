-- 0005: Lambda resource policies (SQLite's 0009). One row per statement of the policy of a
-- function or of one of its qualifiers ('' for the unqualified function), in the order added.
CREATE TABLE function_policies (
    name TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    sid TEXT COLLATE "C" NOT NULL,
    statement TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (name, qualifier, sid)
);
