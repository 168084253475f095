-- Locales, content types, global fields, entries (with their version history) and publishing.
CREATE TABLE locales (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    fallback_locale TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (stack_uid, code)
);

-- Content types and global fields share one shape; `kind` tells them apart.
CREATE TABLE schemas (
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    uid TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    schema TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, kind, uid)
);

CREATE TABLE entries (
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    content_type_uid TEXT NOT NULL,
    uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    title TEXT NOT NULL,
    version BIGINT NOT NULL,
    doc JSONB NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid, locale)
);
CREATE INDEX entries_list ON entries (stack_uid, content_type_uid, locale, created_at);
CREATE INDEX entries_title ON entries (stack_uid, content_type_uid, locale, title);
CREATE INDEX entries_updated ON entries (stack_uid, content_type_uid, locale, updated_at);

CREATE TABLE entry_versions (
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    version BIGINT NOT NULL,
    content_type_uid TEXT NOT NULL,
    title TEXT NOT NULL,
    doc TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid, locale, version)
);

-- What is live where: one row per (item, locale, environment), pointing at a version.
CREATE TABLE publications (
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    item_type TEXT NOT NULL,
    item_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    environment_uid TEXT NOT NULL,
    content_type_uid TEXT,
    version BIGINT NOT NULL,
    published_by TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, item_type, item_uid, locale, environment_uid)
);
CREATE INDEX publications_env ON publications (stack_uid, environment_uid, item_type, content_type_uid);
CREATE INDEX entries_doc ON entries USING GIN (doc jsonb_path_ops);
