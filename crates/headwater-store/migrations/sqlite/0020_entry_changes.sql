-- A log of changed entry rows: every insert, update or delete of an `entries` row (its `seq`),
-- of an `entry_values` row and of an entry's `publications` row (the `seq` of the entry row
-- whose version it publishes), and any rewrite of an `entry_versions` row, appends that
-- `seq`, in the writing transaction, whatever wrote it. The in-memory posting lists (postings.rs) read it to stay exact: SQLite
-- has one writer at a time, so ids follow commit order. Only the newest 262,144 changes are
-- kept (a reader further behind reloads what it holds).
CREATE TABLE entry_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL
);

CREATE TRIGGER entry_changes_value_insert AFTER INSERT ON entry_values
BEGIN
    INSERT INTO entry_changes (seq) VALUES (NEW.seq);
END;

CREATE TRIGGER entry_changes_value_delete AFTER DELETE ON entry_values
BEGIN
    INSERT INTO entry_changes (seq) VALUES (OLD.seq);
END;

CREATE TRIGGER entry_changes_value_update AFTER UPDATE ON entry_values
BEGIN
    INSERT INTO entry_changes (seq) VALUES (NEW.seq);
    INSERT INTO entry_changes (seq) SELECT OLD.seq WHERE OLD.seq IS NOT NEW.seq;
END;

CREATE TRIGGER entry_changes_entry_insert AFTER INSERT ON entries WHEN NEW.seq IS NOT NULL
BEGIN
    INSERT INTO entry_changes (seq) VALUES (NEW.seq);
END;

CREATE TRIGGER entry_changes_entry_update
AFTER UPDATE OF seq, updated_at, stack_uid, content_type_uid, locale ON entries
BEGIN
    INSERT INTO entry_changes (seq) SELECT NEW.seq WHERE NEW.seq IS NOT NULL;
    INSERT INTO entry_changes (seq) SELECT OLD.seq WHERE OLD.seq IS NOT NULL AND OLD.seq IS NOT NEW.seq;
END;

-- A `seq` that an entry row gives up (deleted, or renumbered) leaves no index rows behind: on
-- SQLite the next insert may be handed the same `seq` (`MAX(seq) + 1`), and an insert writes
-- its index rows without clearing first (`field_index::Rows::New`).
CREATE TRIGGER entry_changes_entry_renumber AFTER UPDATE OF seq ON entries
WHEN OLD.seq IS NOT NULL AND OLD.seq IS NOT NEW.seq
BEGIN
    DELETE FROM entry_values WHERE seq = OLD.seq;
    DELETE FROM entry_terms WHERE seq = OLD.seq;
END;

CREATE TRIGGER entry_changes_entry_delete AFTER DELETE ON entries WHEN OLD.seq IS NOT NULL
BEGIN
    INSERT INTO entry_changes (seq) VALUES (OLD.seq);
    DELETE FROM entry_values WHERE seq = OLD.seq;
    DELETE FROM entry_terms WHERE seq = OLD.seq;
END;

CREATE TRIGGER entry_changes_publication_insert AFTER INSERT ON publications
WHEN NEW.item_type = 'entry'
BEGIN
    INSERT INTO entry_changes (seq) SELECT seq FROM entries WHERE stack_uid = NEW.stack_uid
        AND uid = NEW.item_uid AND locale = COALESCE(NEW.source_locale, NEW.locale)
        AND seq IS NOT NULL;
END;

CREATE TRIGGER entry_changes_publication_update AFTER UPDATE ON publications
WHEN NEW.item_type = 'entry' OR OLD.item_type = 'entry'
BEGIN
    INSERT INTO entry_changes (seq) SELECT seq FROM entries WHERE stack_uid = NEW.stack_uid
        AND uid = NEW.item_uid AND locale = COALESCE(NEW.source_locale, NEW.locale)
        AND seq IS NOT NULL;
    INSERT INTO entry_changes (seq) SELECT seq FROM entries WHERE stack_uid = OLD.stack_uid
        AND uid = OLD.item_uid AND locale = COALESCE(OLD.source_locale, OLD.locale)
        AND seq IS NOT NULL;
END;

CREATE TRIGGER entry_changes_publication_delete AFTER DELETE ON publications
WHEN OLD.item_type = 'entry'
BEGIN
    INSERT INTO entry_changes (seq) SELECT seq FROM entries WHERE stack_uid = OLD.stack_uid
        AND uid = OLD.item_uid AND locale = COALESCE(OLD.source_locale, OLD.locale)
        AND seq IS NOT NULL;
END;

-- Versions are never rewritten by the server; one rewritten another way changes what is
-- published of its entry row all the same.
CREATE TRIGGER entry_changes_version_update AFTER UPDATE ON entry_versions
BEGIN
    INSERT INTO entry_changes (seq) SELECT seq FROM entries WHERE stack_uid = OLD.stack_uid
        AND uid = OLD.uid AND locale = OLD.locale AND seq IS NOT NULL;
    INSERT INTO entry_changes (seq) SELECT seq FROM entries WHERE stack_uid = NEW.stack_uid
        AND uid = NEW.uid AND locale = NEW.locale AND seq IS NOT NULL;
END;

CREATE TRIGGER entry_changes_prune AFTER INSERT ON entry_changes WHEN NEW.id % 4096 = 0
BEGIN
    DELETE FROM entry_changes WHERE id <= NEW.id - 262144;
END;
