-- Publishing work carried out after the request that asked for it: asynchronous bulk jobs
-- (`api_version: 3.2`) and scheduled publishes (`scheduled_at`). A job is claimed by one
-- instance inside the write transaction that carries it out, so it runs once whatever the
-- number of instances, and a job not yet carried out when a server stops is carried out by the
-- next one (the publish queue lists the items).
CREATE TABLE publish_jobs (
    uid TEXT PRIMARY KEY,
    stack_uid TEXT NOT NULL REFERENCES stacks (uid) ON DELETE CASCADE,
    space_uid TEXT NOT NULL REFERENCES branches (space_uid) ON DELETE CASCADE,
    branch TEXT NOT NULL,
    -- publish | unpublish (a release deploy: the default of items without their own)
    action TEXT NOT NULL,
    -- bulk | entry | asset | release
    source TEXT NOT NULL,
    -- queued | completed | failed | cancelled
    status TEXT NOT NULL,
    -- 1 when asked with scheduled_at.
    scheduled INTEGER NOT NULL DEFAULT 0,
    -- Who asked (user or management_token, and its uid): the job acts as them.
    actor_kind TEXT NOT NULL,
    actor_uid TEXT NOT NULL,
    -- The settings every item shares: {"environments": […], "locales": […], …}.
    settings TEXT NOT NULL,
    run_at TEXT NOT NULL,
    error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX publish_jobs_due ON publish_jobs (status, run_at);
CREATE INDEX publish_jobs_space ON publish_jobs (space_uid, created_at);

CREATE TABLE publish_job_items (
    uid TEXT PRIMARY KEY,
    job_uid TEXT NOT NULL REFERENCES publish_jobs (uid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    -- entry | asset
    item_type TEXT NOT NULL,
    -- publish | unpublish when the item's differs from the job's (a release item's own action).
    action TEXT,
    item_uid TEXT NOT NULL,
    content_type_uid TEXT,
    locale TEXT,
    version INTEGER,
    -- pending | success | failed | cancelled
    status TEXT NOT NULL,
    -- {"field": ["message", …]} when the item failed.
    errors TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX publish_job_items_job ON publish_job_items (job_uid, position);
