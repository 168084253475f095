-- Branches and branch aliases. Every branch owns a content space: the stack's content on that
-- branch (locales, content types and global fields, entries and their history, publications,
-- assets and their versions). The content tables' `stack_uid` column holds the space's uid:
-- the stack's uid for `main` (so content written before branches existed stays on `main`), and
-- `<stack uid>:<branch uid>` for any other branch. Deleting a branch deletes its space's content;
-- deleting a stack deletes its branches.
--
-- SQLite cannot change a foreign key or a primary key in place, so each content table is
-- rebuilt: same columns, the key now pointing at branches (space_uid).
CREATE TABLE branches (
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    space_uid TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid)
);

CREATE TABLE branch_aliases (
    stack_uid TEXT NOT NULL,
    uid TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid),
    FOREIGN KEY (stack_uid, target_branch) REFERENCES branches (stack_uid, uid) ON DELETE CASCADE
);

INSERT INTO branches (stack_uid, uid, source, space_uid, created_by, updated_by, created_at, updated_at)
SELECT uid, 'main', '', uid, owner_uid, owner_uid, created_at, created_at FROM stacks;

CREATE TABLE locales_new (
    uid TEXT NOT NULL,
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    fallback_locale TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid),
    UNIQUE (stack_uid, code)
);
INSERT INTO locales_new SELECT uid, stack_uid, code, name, fallback_locale, version, created_by,
    updated_by, created_at, updated_at FROM locales;
DROP TABLE locales;
ALTER TABLE locales_new RENAME TO locales;

CREATE TABLE schemas_new (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    uid TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    schema TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    version INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, kind, uid)
);
INSERT INTO schemas_new SELECT stack_uid, kind, uid, title, description, schema, options, version,
    created_by, updated_by, created_at, updated_at FROM schemas;
DROP TABLE schemas;
ALTER TABLE schemas_new RENAME TO schemas;

CREATE TABLE entries_new (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    content_type_uid TEXT NOT NULL,
    uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    title TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL CHECK (json_valid(doc)),
    tags TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid, locale)
);
INSERT INTO entries_new SELECT stack_uid, content_type_uid, uid, locale, title, version, doc, tags,
    created_by, updated_by, created_at, updated_at FROM entries;
DROP TABLE entries;
ALTER TABLE entries_new RENAME TO entries;
CREATE INDEX entries_list ON entries (stack_uid, content_type_uid, locale, created_at);
CREATE INDEX entries_title ON entries (stack_uid, content_type_uid, locale, title);
CREATE INDEX entries_updated ON entries (stack_uid, content_type_uid, locale, updated_at);

CREATE TABLE entry_versions_new (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_type_uid TEXT NOT NULL,
    title TEXT NOT NULL,
    doc TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid, locale, version)
);
INSERT INTO entry_versions_new SELECT stack_uid, uid, locale, version, content_type_uid, title,
    doc, tags, created_by, created_at FROM entry_versions;
DROP TABLE entry_versions;
ALTER TABLE entry_versions_new RENAME TO entry_versions;

CREATE TABLE publications_new (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    item_type TEXT NOT NULL,
    item_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    environment_uid TEXT NOT NULL,
    content_type_uid TEXT,
    version INTEGER NOT NULL,
    published_by TEXT NOT NULL,
    published_at TEXT NOT NULL,
    source_locale TEXT,
    PRIMARY KEY (stack_uid, item_type, item_uid, locale, environment_uid)
);
INSERT INTO publications_new SELECT stack_uid, item_type, item_uid, locale, environment_uid,
    content_type_uid, version, published_by, published_at, source_locale FROM publications;
DROP TABLE publications;
ALTER TABLE publications_new RENAME TO publications;
CREATE INDEX publications_env ON publications (stack_uid, environment_uid, item_type, content_type_uid);

-- An asset keeps its uid on every branch, so its key becomes (space, uid).
CREATE TABLE assets_new (
    uid TEXT NOT NULL,
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    is_dir INTEGER NOT NULL DEFAULT 0,
    parent_uid TEXT,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    filename TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    file_size INTEGER NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '[]',
    version INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid)
);
INSERT INTO assets_new SELECT uid, stack_uid, is_dir, parent_uid, title, description, filename,
    content_type, file_size, tags, version, created_by, updated_by, created_at, updated_at FROM assets;
DROP TABLE assets;
ALTER TABLE assets_new RENAME TO assets;
CREATE INDEX assets_list ON assets (stack_uid, is_dir, parent_uid, created_at);

CREATE TABLE asset_versions_new (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    version INTEGER NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file_size INTEGER NOT NULL,
    storage_key TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid, version)
);
INSERT INTO asset_versions_new SELECT stack_uid, uid, version, filename, content_type, file_size,
    storage_key, created_by, created_at FROM asset_versions;
DROP TABLE asset_versions;
ALTER TABLE asset_versions_new RENAME TO asset_versions;
-- Branches share stored files: a file is removed only when no version row names it.
CREATE INDEX asset_versions_storage_key ON asset_versions (storage_key);
