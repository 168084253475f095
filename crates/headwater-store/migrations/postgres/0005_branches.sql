-- Branches and branch aliases. Every branch owns a content space: the stack's content on that
-- branch (locales, content types and global fields, entries and their history, publications,
-- assets and their versions). The content tables' `stack_uid` column holds the space's uid:
-- the stack's uid for `main` (so content written before branches existed stays on `main`), and
-- `<stack uid>:<branch uid>` for any other branch. Deleting a branch deletes its space's content;
-- deleting a stack deletes its branches.
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

ALTER TABLE locales DROP CONSTRAINT locales_stack_uid_fkey;
ALTER TABLE locales ADD CONSTRAINT locales_space_fkey
    FOREIGN KEY (stack_uid) REFERENCES branches (space_uid) ON DELETE CASCADE;
ALTER TABLE locales DROP CONSTRAINT locales_pkey;
ALTER TABLE locales ADD PRIMARY KEY (stack_uid, uid);

ALTER TABLE schemas DROP CONSTRAINT schemas_stack_uid_fkey;
ALTER TABLE schemas ADD CONSTRAINT schemas_space_fkey
    FOREIGN KEY (stack_uid) REFERENCES branches (space_uid) ON DELETE CASCADE;

ALTER TABLE entries DROP CONSTRAINT entries_stack_uid_fkey;
ALTER TABLE entries ADD CONSTRAINT entries_space_fkey
    FOREIGN KEY (stack_uid) REFERENCES branches (space_uid) ON DELETE CASCADE;

ALTER TABLE entry_versions DROP CONSTRAINT entry_versions_stack_uid_fkey;
ALTER TABLE entry_versions ADD CONSTRAINT entry_versions_space_fkey
    FOREIGN KEY (stack_uid) REFERENCES branches (space_uid) ON DELETE CASCADE;

ALTER TABLE publications DROP CONSTRAINT publications_stack_uid_fkey;
ALTER TABLE publications ADD CONSTRAINT publications_space_fkey
    FOREIGN KEY (stack_uid) REFERENCES branches (space_uid) ON DELETE CASCADE;

-- An asset keeps its uid on every branch, so its key becomes (space, uid).
ALTER TABLE assets DROP CONSTRAINT assets_stack_uid_fkey;
ALTER TABLE assets ADD CONSTRAINT assets_space_fkey
    FOREIGN KEY (stack_uid) REFERENCES branches (space_uid) ON DELETE CASCADE;
ALTER TABLE assets DROP CONSTRAINT assets_pkey;
ALTER TABLE assets ADD PRIMARY KEY (stack_uid, uid);

ALTER TABLE asset_versions DROP CONSTRAINT asset_versions_stack_uid_fkey;
ALTER TABLE asset_versions ADD CONSTRAINT asset_versions_space_fkey
    FOREIGN KEY (stack_uid) REFERENCES branches (space_uid) ON DELETE CASCADE;
-- Branches share stored files: a file is removed only when no version row names it.
CREATE INDEX asset_versions_storage_key ON asset_versions (storage_key);
