-- The entry field index: one row per scalar (string or number) value at an object path of an
-- entry's current document, so that filtered queries find their candidates by index instead of
-- reading every entry of the content type. Maintained by repo::entries in the write transaction.
--
-- `entries.seq` is a compact integer key of an entry row (one per entry and locale), assigned at
-- insert; the index refers to entries by it.
ALTER TABLE entries ADD COLUMN seq INTEGER;
UPDATE entries SET seq = rowid;
-- With the default order's columns, so matches can be ranked without reading their rows.
CREATE UNIQUE INDEX entries_seq ON entries (seq, updated_at, uid);

-- One row per (content space, content type, locale, dotted path) ever indexed.
CREATE TABLE entry_fields (
    id INTEGER PRIMARY KEY,
    stack_uid TEXT NOT NULL,
    content_type_uid TEXT NOT NULL,
    locale TEXT NOT NULL,
    path TEXT NOT NULL,
    UNIQUE (stack_uid, content_type_uid, locale, path)
);

-- `t`: a string value (its first 200 characters); `n`: a number value (NUMERIC: integers stay
-- exact, as json_extract returns them).
CREATE TABLE entry_values (
    seq INTEGER NOT NULL,
    field_id INTEGER NOT NULL,
    t TEXT,
    n NUMERIC,
    PRIMARY KEY (seq, field_id)
) WITHOUT ROWID;
CREATE INDEX entry_values_text ON entry_values (field_id, t, seq) WHERE t IS NOT NULL;
CREATE INDEX entry_values_number ON entry_values (field_id, n, seq) WHERE n IS NOT NULL;

-- Index the entries that already exist. Paths go through objects only (never into arrays) and
-- keys are plain identifiers, as in the query language.
INSERT INTO entry_fields (stack_uid, content_type_uid, locale, path)
SELECT DISTINCT e.stack_uid, e.content_type_uid, e.locale, substr(j.fullkey, 3)
FROM entries e, json_tree(e.doc) j
WHERE j.type IN ('text', 'integer', 'real') AND instr(j.fullkey, '[') = 0
  AND instr(j.fullkey, '"') = 0;

INSERT INTO entry_values (seq, field_id, t, n)
SELECT e.seq, f.id,
       CASE WHEN j.type = 'text' THEN substr(j.atom, 1, 200) END,
       CASE WHEN j.type <> 'text' THEN j.atom END
FROM entries e, json_tree(e.doc) j
JOIN entry_fields f ON f.stack_uid = e.stack_uid AND f.content_type_uid = e.content_type_uid
     AND f.locale = e.locale AND f.path = substr(j.fullkey, 3)
WHERE j.type IN ('text', 'integer', 'real') AND instr(j.fullkey, '[') = 0
  AND instr(j.fullkey, '"') = 0;
