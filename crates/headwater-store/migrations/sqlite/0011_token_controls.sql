-- Management-token controls beyond Contentstack's fields (MT-15 … MT-20): rotation with a
-- grace period and reuse detection, client-address binding, revocation, usage counts, and the
-- organization's maximum token lifetime.

ALTER TABLE management_tokens ADD COLUMN allowed_cidrs TEXT;
ALTER TABLE management_tokens ADD COLUMN revoke_on_reuse INTEGER NOT NULL DEFAULT 0;
ALTER TABLE management_tokens ADD COLUMN revoked_at TEXT;
ALTER TABLE management_tokens ADD COLUMN revoked_reason TEXT;
ALTER TABLE management_tokens ADD COLUMN rotated_at TEXT;

-- Secrets a rotation replaced: they keep working until valid_until (the grace period), and a
-- use after that is reuse (MT-15).
CREATE TABLE management_token_old_secrets (
    token_hash TEXT PRIMARY KEY,
    token_uid TEXT NOT NULL REFERENCES management_tokens (uid) ON DELETE CASCADE,
    valid_until TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX management_token_old_secrets_token ON management_token_old_secrets (token_uid);

-- Per token and UTC day: requests counted off the request path and flushed periodically.
CREATE TABLE management_token_usage (
    token_uid TEXT NOT NULL REFERENCES management_tokens (uid) ON DELETE CASCADE,
    day TEXT NOT NULL,
    reads INTEGER NOT NULL DEFAULT 0,
    writes INTEGER NOT NULL DEFAULT 0,
    refusals INTEGER NOT NULL DEFAULT 0,
    rate_limited INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (token_uid, day)
);

-- The latest distinct client addresses of a token (the five most recent are kept).
CREATE TABLE management_token_clients (
    token_uid TEXT NOT NULL REFERENCES management_tokens (uid) ON DELETE CASCADE,
    address TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (token_uid, address)
);

ALTER TABLE organizations ADD COLUMN max_token_lifetime_days INTEGER;
ALTER TABLE organizations ADD COLUMN allow_never_expiring_tokens INTEGER NOT NULL DEFAULT 1;
