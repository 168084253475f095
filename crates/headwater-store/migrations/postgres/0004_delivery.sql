-- Delivery tokens (read-only, environment-scoped) and, for published entries, the locale whose
-- content was published (an unlocalized entry publishes its master-locale content).
CREATE TABLE delivery_tokens (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    scope TEXT NOT NULL,
    environments TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (stack_uid, name)
);

ALTER TABLE publications ADD COLUMN source_locale TEXT;
