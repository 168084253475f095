-- Extensions (custom fields, widgets, dashboards, JSON RTE plugins), names given to entry
-- versions, and entry metadata. All belong to a branch's content space, like the content they
-- describe.
CREATE TABLE extensions (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    title TEXT NOT NULL,
    type TEXT NOT NULL,
    -- Everything else the client sent (data_type, tags, src, srcdoc, multiple, config, scope,
    -- enable, …), as a JSON object.
    body TEXT NOT NULL DEFAULT '{}',
    version INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid)
);
CREATE INDEX extensions_list ON extensions (stack_uid, type, created_at);

CREATE TABLE entry_version_names (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    entry_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, entry_uid, locale, version)
);

-- Metadata an extension (or anyone) attaches to an entry or asset: one object per
-- (entity, locale, extension).
CREATE TABLE entity_metadata (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    entity_uid TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    content_type_uid TEXT NOT NULL DEFAULT '',
    locale TEXT NOT NULL DEFAULT '',
    extension_uid TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '{}',
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid)
);
CREATE INDEX entity_metadata_entity ON entity_metadata (stack_uid, entity_uid, locale);
