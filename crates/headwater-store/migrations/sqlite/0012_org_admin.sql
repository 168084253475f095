-- Organization administration (issue 14): invitations, teams and their stack roles, stack
-- settings, and the one-time link tokens behind invitations, password resets and ownership
-- transfers. Link tokens are stored as SHA-256 hashes only; each is used once, before it expires.

CREATE TABLE link_tokens (
    token_hash TEXT PRIMARY KEY,
    -- 'reset_password', 'org_invitation', 'org_ownership', 'stack_ownership'
    kind TEXT NOT NULL,
    -- What the token acts on: the user (reset), the invitation, the organization or the stack.
    subject_uid TEXT NOT NULL,
    -- Who it was sent to (normalized email).
    email TEXT NOT NULL,
    created_by TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX link_tokens_subject ON link_tokens (kind, subject_uid);

CREATE TABLE org_invitations (
    uid TEXT PRIMARY KEY,
    org_uid TEXT NOT NULL REFERENCES organizations (uid) ON DELETE CASCADE,
    email TEXT NOT NULL,
    org_role TEXT NOT NULL,
    -- [{"api_key": …, "roles": [role uid, …]}, …] as checked when invited
    stack_roles TEXT NOT NULL DEFAULT '[]',
    -- 'pending', 'accepted', 'revoked'
    status TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX org_invitations_org ON org_invitations (org_uid, created_at);

CREATE TABLE teams (
    uid TEXT PRIMARY KEY,
    org_uid TEXT NOT NULL REFERENCES organizations (uid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    org_role TEXT NOT NULL DEFAULT 'member',
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_uid, name)
);

CREATE TABLE team_members (
    team_uid TEXT NOT NULL REFERENCES teams (uid) ON DELETE CASCADE,
    user_uid TEXT NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (team_uid, user_uid)
);
CREATE INDEX team_members_user ON team_members (user_uid);

CREATE TABLE team_stack_roles (
    team_uid TEXT NOT NULL REFERENCES teams (uid) ON DELETE CASCADE,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    role_uid TEXT NOT NULL REFERENCES roles (uid) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (team_uid, stack_uid, role_uid)
);
CREATE INDEX team_stack_roles_stack ON team_stack_roles (stack_uid);

CREATE TABLE stack_settings (
    stack_uid TEXT PRIMARY KEY REFERENCES stacks (uid) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
