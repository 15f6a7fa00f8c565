-- 0007: IAM roles and managed policies (the roles state machines run as; Terraform
-- creates them). Times in seconds since the epoch; tags as a JSON list of {Key, Value}.
CREATE TABLE iam_roles (
    name TEXT PRIMARY KEY,
    role_id TEXT NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    assume_role_policy TEXT NOT NULL,
    description TEXT,
    max_session_duration INTEGER NOT NULL,
    create_date REAL NOT NULL,
    tags TEXT NOT NULL
);

CREATE TABLE iam_policies (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    path TEXT NOT NULL,
    description TEXT,
    default_version_id TEXT NOT NULL,
    next_version INTEGER NOT NULL,
    create_date REAL NOT NULL,
    update_date REAL NOT NULL,
    tags TEXT NOT NULL
);

CREATE TABLE iam_policy_versions (
    policy_arn TEXT NOT NULL REFERENCES iam_policies (arn),
    version_id TEXT NOT NULL,
    document TEXT NOT NULL,
    create_date REAL NOT NULL,
    PRIMARY KEY (policy_arn, version_id)
) WITHOUT ROWID;

CREATE TABLE iam_role_attachments (
    role_name TEXT NOT NULL REFERENCES iam_roles (name),
    policy_arn TEXT NOT NULL REFERENCES iam_policies (arn),
    PRIMARY KEY (role_name, policy_arn)
) WITHOUT ROWID;

CREATE INDEX iam_attachments_by_policy ON iam_role_attachments (policy_arn);

CREATE TABLE iam_role_policies (
    role_name TEXT NOT NULL REFERENCES iam_roles (name),
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (role_name, name)
) WITHOUT ROWID;
