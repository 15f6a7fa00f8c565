-- 0003: IAM roles and managed policies (SQLite's 0007), in PostgreSQL's types.
-- creates them). Times in seconds since the epoch; tags as a JSON list of {Key, Value}.
CREATE TABLE iam_roles (
    name TEXT COLLATE "C" PRIMARY KEY,
    role_id TEXT COLLATE "C" NOT NULL,
    arn TEXT COLLATE "C" NOT NULL UNIQUE,
    path TEXT COLLATE "C" NOT NULL,
    assume_role_policy TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    max_session_duration INTEGER NOT NULL,
    create_date DOUBLE PRECISION NOT NULL,
    tags TEXT COLLATE "C" NOT NULL
);

CREATE TABLE iam_policies (
    arn TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    policy_id TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    default_version_id TEXT COLLATE "C" NOT NULL,
    next_version INTEGER NOT NULL,
    create_date DOUBLE PRECISION NOT NULL,
    update_date DOUBLE PRECISION NOT NULL,
    tags TEXT COLLATE "C" NOT NULL
);

CREATE TABLE iam_policy_versions (
    policy_arn TEXT COLLATE "C" NOT NULL REFERENCES iam_policies (arn),
    version_id TEXT COLLATE "C" NOT NULL,
    document TEXT COLLATE "C" NOT NULL,
    create_date DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (policy_arn, version_id)
);

CREATE TABLE iam_role_attachments (
    role_name TEXT COLLATE "C" NOT NULL REFERENCES iam_roles (name),
    policy_arn TEXT COLLATE "C" NOT NULL REFERENCES iam_policies (arn),
    PRIMARY KEY (role_name, policy_arn)
);

CREATE INDEX iam_attachments_by_policy ON iam_role_attachments (policy_arn);

CREATE TABLE iam_role_policies (
    role_name TEXT COLLATE "C" NOT NULL REFERENCES iam_roles (name),
    name TEXT COLLATE "C" NOT NULL,
    document TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (role_name, name)
);
