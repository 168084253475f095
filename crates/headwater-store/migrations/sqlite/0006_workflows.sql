-- Workflows (stages per content type), publish rules (publishing that needs approval), each
-- entry's current stage with its history, and publish requests awaiting a decision.
-- Workflows and rules belong to the stack and name the branches they apply to; stage and
-- request rows belong to the entry's content space (branch).
CREATE TABLE workflows (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    branches TEXT NOT NULL DEFAULT '["main"]',
    content_types TEXT NOT NULL DEFAULT '[]',
    admin_users TEXT NOT NULL DEFAULT '{}',
    stages TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX workflows_stack ON workflows (stack_uid);

CREATE TABLE publish_rules (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    workflow_uid TEXT,
    workflow_stage TEXT,
    actions TEXT NOT NULL DEFAULT '[]',
    branches TEXT NOT NULL DEFAULT '["main"]',
    content_types TEXT NOT NULL DEFAULT '["$all"]',
    locales TEXT NOT NULL DEFAULT '[]',
    environment_uid TEXT NOT NULL,
    approvers TEXT NOT NULL DEFAULT '{}',
    disable_approver_publishing INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX publish_rules_stack ON publish_rules (stack_uid);

CREATE TABLE entry_stages (
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    entry_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    workflow_uid TEXT NOT NULL,
    stage_uid TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (stack_uid, entry_uid, locale)
);

CREATE TABLE entry_stage_history (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    entry_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    workflow_uid TEXT NOT NULL,
    stage_uid TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    due_date TEXT,
    assigned_to TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX entry_stage_history_entry ON entry_stage_history (stack_uid, entry_uid, locale, created_at);

CREATE TABLE publish_requests (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    content_type_uid TEXT NOT NULL,
    entry_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    version INTEGER NOT NULL,
    rule_uid TEXT NOT NULL,
    action TEXT NOT NULL,
    environment_uid TEXT NOT NULL,
    status TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    decision_comment TEXT
);
CREATE INDEX publish_requests_entry ON publish_requests (stack_uid, entry_uid, locale, status);
CREATE INDEX publish_requests_rule ON publish_requests (rule_uid, status);
