-- The change log of entry rows on PostgreSQL, read by the in-memory posting lists
-- (postings.rs) of filtered listings of current versions. Concurrent writers commit out of id
-- order here, so each row also carries the id of the transaction that wrote it (`xid`): a
-- reader remembers the oldest transaction still running when it last read the log (its
-- snapshot's xmin) and next time reads every row of that transaction or a later one. Every
-- transaction older than that had finished, and its rows were read then.
--
-- Every insert, update or delete of an `entries` row or an `entry_values` row appends the
-- row's `seq`, of an entry's `publications` row the `seq` of the entry row whose version it
-- publishes, and any rewrite of an `entry_versions` row that of its entry row, in the writing
-- transaction, whatever wrote it (statement-level triggers: one insert per statement). Old rows are pruned now and then; `entry_changes_floor` holds the
-- newest transaction id pruned below, and a reader behind it reloads what it holds.
CREATE TABLE entry_changes (
    id BIGSERIAL PRIMARY KEY,
    xid BIGINT NOT NULL DEFAULT CAST(CAST(pg_current_xact_id() AS text) AS bigint),
    seq BIGINT NOT NULL
);
CREATE INDEX entry_changes_xid ON entry_changes (xid);

CREATE TABLE entry_changes_floor (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    xid BIGINT NOT NULL
);
INSERT INTO entry_changes_floor (xid) VALUES (0);

-- Prunes what is older than the transaction of the row `keep` rows from the newest, and
-- raises the floor to that transaction.
CREATE FUNCTION entry_changes_prune_keeping(keep BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    below BIGINT;
BEGIN
    SELECT xid INTO below FROM entry_changes ORDER BY id DESC OFFSET keep LIMIT 1;
    IF below IS NULL THEN
        RETURN;
    END IF;
    UPDATE entry_changes_floor SET xid = GREATEST(xid, below);
    DELETE FROM entry_changes WHERE xid < below;
END
$$;

-- Keeps about the newest 262,144 rows: one writing statement in 4,096 prunes.
CREATE FUNCTION entry_changes_prune() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF random() < 1.0 / 4096 THEN
        PERFORM entry_changes_prune_keeping(262144);
    END IF;
END
$$;

CREATE FUNCTION entry_changes_log_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO entry_changes (seq) SELECT DISTINCT seq FROM new_rows WHERE seq IS NOT NULL;
    PERFORM entry_changes_prune();
    RETURN NULL;
END
$$;

CREATE FUNCTION entry_changes_log_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO entry_changes (seq) SELECT DISTINCT seq FROM old_rows WHERE seq IS NOT NULL;
    PERFORM entry_changes_prune();
    RETURN NULL;
END
$$;

CREATE FUNCTION entry_changes_log_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO entry_changes (seq)
        SELECT seq FROM new_rows WHERE seq IS NOT NULL
        UNION
        SELECT seq FROM old_rows WHERE seq IS NOT NULL;
    PERFORM entry_changes_prune();
    RETURN NULL;
END
$$;

CREATE TRIGGER entry_changes_value_insert AFTER INSERT ON entry_values
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION entry_changes_log_new();
CREATE TRIGGER entry_changes_value_update AFTER UPDATE ON entry_values
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entry_changes_log_both();
CREATE TRIGGER entry_changes_value_delete AFTER DELETE ON entry_values
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION entry_changes_log_old();

CREATE TRIGGER entry_changes_entry_insert AFTER INSERT ON entries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION entry_changes_log_new();
CREATE TRIGGER entry_changes_entry_update AFTER UPDATE ON entries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entry_changes_log_both();
CREATE TRIGGER entry_changes_entry_delete AFTER DELETE ON entries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION entry_changes_log_old();

-- The entry row behind a publication (its version is that row's uid and locale, or the
-- source locale it falls back to).
CREATE FUNCTION entry_changes_log_publications() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO entry_changes (seq)
            SELECT e.seq FROM new_rows p JOIN entries e ON e.stack_uid = p.stack_uid
                AND e.uid = p.item_uid AND e.locale = COALESCE(p.source_locale, p.locale)
            WHERE p.item_type = 'entry' AND e.seq IS NOT NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO entry_changes (seq)
            SELECT e.seq FROM old_rows p JOIN entries e ON e.stack_uid = p.stack_uid
                AND e.uid = p.item_uid AND e.locale = COALESCE(p.source_locale, p.locale)
            WHERE p.item_type = 'entry' AND e.seq IS NOT NULL;
    END IF;
    PERFORM entry_changes_prune();
    RETURN NULL;
END
$$;

CREATE TRIGGER entry_changes_publication_insert AFTER INSERT ON publications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entry_changes_log_publications();
CREATE TRIGGER entry_changes_publication_update AFTER UPDATE ON publications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entry_changes_log_publications();
CREATE TRIGGER entry_changes_publication_delete AFTER DELETE ON publications
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entry_changes_log_publications();

-- Versions are never rewritten by the server; one rewritten another way changes what is
-- published of its entry row all the same.
CREATE FUNCTION entry_changes_log_versions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO entry_changes (seq)
        SELECT e.seq FROM new_rows v JOIN entries e ON e.stack_uid = v.stack_uid
            AND e.uid = v.uid AND e.locale = v.locale WHERE e.seq IS NOT NULL
        UNION
        SELECT e.seq FROM old_rows v JOIN entries e ON e.stack_uid = v.stack_uid
            AND e.uid = v.uid AND e.locale = v.locale WHERE e.seq IS NOT NULL;
    PERFORM entry_changes_prune();
    RETURN NULL;
END
$$;

CREATE TRIGGER entry_changes_version_update AFTER UPDATE ON entry_versions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entry_changes_log_versions();
