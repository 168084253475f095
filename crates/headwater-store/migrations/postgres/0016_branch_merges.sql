-- Branch merges (`POST /v3/stacks/branches_merge`), listed by the merge queue
-- (`GET /v3/stacks/branches_queue`), and branch settings (`POST /v3/stacks/branches/{uid}/settings`).
-- A merge names its branches by uid as text: the record outlives a branch deleted later.
CREATE TABLE branch_merges (
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    base_branch TEXT NOT NULL,
    compare_branch TEXT NOT NULL,
    -- 'complete' or 'failed' (a merge runs in its request's transaction).
    status TEXT NOT NULL,
    -- JSON: the strategies, comment and no_revert the request named.
    configuration TEXT NOT NULL,
    -- JSON: per content type or global field, what the merge did.
    summary TEXT NOT NULL DEFAULT '[]',
    -- JSON: why a failed merge changed nothing.
    errors TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    merged_at TEXT,
    PRIMARY KEY (stack_uid, uid)
);
CREATE INDEX branch_merges_recent ON branch_merges (stack_uid, created_at);

CREATE TABLE branch_settings (
    stack_uid TEXT NOT NULL,
    branch_uid TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, branch_uid),
    FOREIGN KEY (stack_uid, branch_uid) REFERENCES branches (stack_uid, uid) ON DELETE CASCADE
);
