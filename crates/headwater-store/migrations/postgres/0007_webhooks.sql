-- Webhooks, their delivery outbox (one row per event, webhook and destination, written in the
-- transaction of the change that caused it), the log of every delivery attempt, and the
-- management-token expiry notices already produced.
CREATE TABLE webhooks (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    destinations TEXT NOT NULL,
    channels TEXT NOT NULL,
    branches TEXT NOT NULL,
    retry_policy TEXT NOT NULL,
    notifiers TEXT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    concise_payload BIGINT NOT NULL DEFAULT 1,
    secret TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhooks_stack ON webhooks (stack_uid, created_at);

CREATE TABLE webhook_deliveries (
    uid TEXT PRIMARY KEY,
    webhook_uid TEXT NOT NULL REFERENCES webhooks (uid) ON DELETE CASCADE,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    destination INTEGER NOT NULL,
    channel TEXT NOT NULL,
    branch TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_uid, created_at);

CREATE TABLE webhook_attempts (
    uid TEXT PRIMARY KEY,
    delivery_uid TEXT NOT NULL REFERENCES webhook_deliveries (uid) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    target_url TEXT NOT NULL,
    status_code BIGINT NOT NULL,
    error TEXT,
    response_body TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_uid, attempt);

CREATE TABLE token_notices (
    token_uid TEXT NOT NULL REFERENCES management_tokens (uid) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    email_pending BIGINT NOT NULL DEFAULT 0,
    email_attempts BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (token_uid, kind, expires_at)
);
