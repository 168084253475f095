-- Single sign-on (OpenID Connect) per organization: its provider settings (the client secret
-- sealed with the server's key, bound to the organization), the identities that signed in
-- (issuer + subject, linked to a user), the one-time states of sign-ins in progress (stored
-- hashed, short-lived) and browser sessions (the cookie's secret and its CSRF token, hashed).

CREATE TABLE org_sso (
    org_uid TEXT PRIMARY KEY REFERENCES organizations (uid) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    -- JSON arrays of strings
    scopes TEXT NOT NULL,
    email_claim TEXT NOT NULL,
    allowed_domains TEXT NOT NULL,
    -- 'member' or 'admin'
    default_role TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE sso_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_uid TEXT NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    -- The organization whose sign-in linked it.
    org_uid TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_login_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_uid);

CREATE TABLE sso_states (
    state_hash TEXT PRIMARY KEY,
    org_uid TEXT NOT NULL REFERENCES organizations (uid) ON DELETE CASCADE,
    nonce TEXT NOT NULL,
    -- The PKCE verifier, sealed and bound to the state's hash.
    verifier TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sso_states_expiry ON sso_states (expires_at);

CREATE TABLE browser_sessions (
    session_hash TEXT PRIMARY KEY,
    csrf_hash TEXT NOT NULL,
    user_uid TEXT NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    org_uid TEXT,
    created_at TEXT NOT NULL,
    last_used_at TEXT NOT NULL
);
CREATE INDEX browser_sessions_user ON browser_sessions (user_uid);
