-- Releases (a set of entry and asset versions deployed together) and labels. Both belong to a
-- branch's content space, like the content they name.
CREATE TABLE releases (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    locked BIGINT NOT NULL DEFAULT 0,
    archived BIGINT NOT NULL DEFAULT 0,
    items TEXT NOT NULL DEFAULT '[]',
    deployments TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX releases_space ON releases (stack_uid, created_at);

CREATE TABLE labels (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    parent TEXT NOT NULL DEFAULT '[]',
    content_types TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (stack_uid, name)
);
