-- Assets and asset folders (folders are assets with is_dir = 1), with their file versions.
CREATE TABLE assets (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    is_dir BIGINT NOT NULL DEFAULT 0,
    parent_uid TEXT,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    filename TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    file_size BIGINT NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '[]',
    version BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX assets_list ON assets (stack_uid, is_dir, parent_uid, created_at);

CREATE TABLE asset_versions (
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    version BIGINT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file_size BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid, version)
);
