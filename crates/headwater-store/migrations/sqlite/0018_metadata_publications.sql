-- Metadata published to environments (`POST /v3/metadata/{uid}/publish`): one row per
-- (metadata object, environment, locale) holding the attributes as they were when published,
-- since metadata keep no versions. Keyed by the branch's content space, as publications are;
-- a branch's new copy starts with nothing published.
CREATE TABLE metadata_publications (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    metadata_uid TEXT NOT NULL,
    environment_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    body TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, metadata_uid, environment_uid, locale)
);
