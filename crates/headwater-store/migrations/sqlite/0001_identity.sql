-- Identity, stacks, roles, management tokens, environments and the audit log.
-- Timestamps are fixed-width ISO-8601 UTC text; booleans are 0/1 integers; JSON is text.
CREATE TABLE organizations (
    uid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner_uid TEXT NOT NULL,
    sso_strict INTEGER NOT NULL DEFAULT 0,
    read_rps INTEGER,
    write_rps INTEGER,
    max_management_tokens INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE users (
    uid TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    tfa_secret TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE org_members (
    org_uid TEXT NOT NULL REFERENCES organizations (uid) ON DELETE CASCADE,
    user_uid TEXT NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_uid, user_uid)
);
CREATE INDEX org_members_user ON org_members (user_uid);

CREATE TABLE authtokens (
    token_hash TEXT PRIMARY KEY,
    user_uid TEXT NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE INDEX authtokens_user ON authtokens (user_uid, created_at);

CREATE TABLE stacks (
    uid TEXT PRIMARY KEY,
    api_key TEXT NOT NULL UNIQUE,
    org_uid TEXT NOT NULL REFERENCES organizations (uid) ON DELETE CASCADE,
    owner_uid TEXT NOT NULL REFERENCES users (uid),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    master_locale TEXT NOT NULL,
    max_management_tokens INTEGER,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX stacks_org ON stacks (org_uid);

CREATE TABLE roles (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    builtin TEXT,
    rules TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (stack_uid, name)
);

CREATE TABLE stack_members (
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    user_uid TEXT NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    role_uid TEXT NOT NULL REFERENCES roles (uid),
    created_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, user_uid)
);
CREATE INDEX stack_members_user ON stack_members (user_uid);

CREATE TABLE management_tokens (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    scope TEXT NOT NULL,
    expires_on TEXT,
    expires_at TEXT,
    is_email_notification_enabled INTEGER NOT NULL DEFAULT 0,
    rate_limit_enabled INTEGER NOT NULL DEFAULT 0,
    read_rps INTEGER,
    write_rps INTEGER,
    token_hash TEXT NOT NULL UNIQUE,
    last_used_at TEXT,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (stack_uid, name)
);
CREATE INDEX management_tokens_stack ON management_tokens (stack_uid, created_at);

CREATE TABLE environments (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    urls TEXT NOT NULL DEFAULT '[]',
    version INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (stack_uid, name)
);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    org_uid TEXT,
    stack_uid TEXT,
    actor_kind TEXT NOT NULL,
    actor_uid TEXT NOT NULL,
    action TEXT NOT NULL,
    module TEXT NOT NULL,
    target_uid TEXT,
    target_title TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_stack ON audit_log (stack_uid, seq);
