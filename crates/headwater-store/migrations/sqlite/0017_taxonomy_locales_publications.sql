-- Localized taxonomies and terms, and published taxonomies.
--
-- A taxonomy's or term's name (and a taxonomy's description) in a locale other than the
-- master locale: `term_uid` is '' for the taxonomy itself. Without a row the master locale's
-- values stand (the fallback). Kept per branch content space, copied with a branch.
CREATE TABLE taxonomy_localizations (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    taxonomy_uid TEXT NOT NULL,
    term_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, taxonomy_uid, term_uid, locale)
);

-- What the delivery API serves of a taxonomy: per (taxonomy, locale, environment) the taxonomy
-- and all its terms as they were rendered in that locale when published (JSON text:
-- {"taxonomy": {...}, "terms": [...]}). Taxonomies have no versions: publishing again replaces
-- the snapshot. Not copied with a branch, as publications are not.
CREATE TABLE taxonomy_publications (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    taxonomy_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    environment_uid TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, taxonomy_uid, locale, environment_uid)
);
CREATE INDEX taxonomy_publications_env ON taxonomy_publications (stack_uid, environment_uid, locale);
