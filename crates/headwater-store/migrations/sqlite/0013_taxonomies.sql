-- Taxonomies and their terms, per branch content space (like the content that uses them), and
-- the entry term index: one row per (entry row, taxonomy, term) of an entry's current
-- `taxonomies` field, so that entry queries by taxonomy find their entries through an index.
CREATE TABLE taxonomies (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, uid)
);

-- `parent_uid` NULL for a root term; `depth` 1 for a root term; `position` orders siblings
-- (the wire's `order`).
CREATE TABLE taxonomy_terms (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    taxonomy_uid TEXT NOT NULL,
    uid TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_uid TEXT,
    depth INTEGER NOT NULL,
    position INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, taxonomy_uid, uid)
);
CREATE INDEX taxonomy_terms_parent ON taxonomy_terms (stack_uid, taxonomy_uid, parent_uid, position);

-- Maintained with the field index (repo::field_index) in every entry write's transaction.
CREATE TABLE entry_terms (
    seq INTEGER NOT NULL,
    stack_uid TEXT NOT NULL,
    content_type_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    taxonomy_uid TEXT NOT NULL,
    term_uid TEXT NOT NULL,
    PRIMARY KEY (seq, taxonomy_uid, term_uid)
);
CREATE INDEX entry_terms_term ON entry_terms (stack_uid, taxonomy_uid, term_uid, content_type_uid, locale, seq);
