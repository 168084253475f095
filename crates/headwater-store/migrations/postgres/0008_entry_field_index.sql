-- The entry field index: one row per scalar (string or number) value at an object path of an
-- entry's current document, so that filtered queries find their candidates by index instead of
-- reading every entry of the content type. Maintained by repo::entries in the write transaction.
--
-- `entries.seq` is a compact integer key of an entry row (one per entry and locale), assigned at
-- insert; the index refers to entries by it.
ALTER TABLE entries ADD COLUMN seq BIGSERIAL;
-- With the default order's columns, so matches can be ranked without reading their rows.
CREATE UNIQUE INDEX entries_seq ON entries (seq, updated_at, uid);

-- One row per (content space, content type, locale, dotted path) ever indexed.
CREATE TABLE entry_fields (
    id BIGSERIAL PRIMARY KEY,
    stack_uid TEXT NOT NULL,
    content_type_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    path TEXT NOT NULL,
    UNIQUE (stack_uid, content_type_uid, locale, path)
);

-- `t`: a string value (its first 200 characters); `n`: a number value.
CREATE TABLE entry_values (
    seq BIGINT NOT NULL,
    field_id BIGINT NOT NULL,
    t TEXT,
    n DOUBLE PRECISION,
    PRIMARY KEY (seq, field_id)
);
CREATE INDEX entry_values_text ON entry_values (field_id, t, seq) WHERE t IS NOT NULL;
CREATE INDEX entry_values_number ON entry_values (field_id, n, seq) WHERE n IS NOT NULL;

-- Index the entries that already exist. Paths go through objects only (never into arrays) and
-- keys are plain identifiers, as in the query language.
CREATE TEMPORARY TABLE entry_field_walk ON COMMIT DROP AS
WITH RECURSIVE walk (seq, stack_uid, content_type_uid, locale, path, val) AS (
    SELECT e.seq, e.stack_uid, e.content_type_uid, e.locale, kv.key, kv.value
    FROM entries e, jsonb_each(CASE WHEN jsonb_typeof(e.doc) = 'object' THEN e.doc ELSE '{}'::jsonb END) kv
    WHERE kv.key ~ '^[A-Za-z_][A-Za-z0-9_]*$'
    UNION ALL
    SELECT w.seq, w.stack_uid, w.content_type_uid, w.locale, w.path || '.' || kv.key, kv.value
    FROM walk w, jsonb_each(CASE WHEN jsonb_typeof(w.val) = 'object' THEN w.val ELSE '{}'::jsonb END) kv
    WHERE kv.key ~ '^[A-Za-z_][A-Za-z0-9_]*$'
)
SELECT * FROM walk WHERE jsonb_typeof(val) IN ('string', 'number');

INSERT INTO entry_fields (stack_uid, content_type_uid, locale, path)
SELECT DISTINCT stack_uid, content_type_uid, locale, path FROM entry_field_walk;

INSERT INTO entry_values (seq, field_id, t, n)
SELECT w.seq, f.id,
       CASE WHEN jsonb_typeof(w.val) = 'string' THEN left(w.val #>> '{}', 200) END,
       CASE WHEN jsonb_typeof(w.val) = 'number' THEN CAST(w.val #>> '{}' AS DOUBLE PRECISION) END
FROM entry_field_walk w
JOIN entry_fields f ON f.stack_uid = w.stack_uid AND f.content_type_uid = w.content_type_uid
     AND f.locale = w.locale AND f.path = w.path;

DROP TABLE entry_field_walk;
