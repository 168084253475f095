-- PostgreSQL only: its change log carries transaction ids (see the PostgreSQL migration).
-- SQLite's log (0020) needs none: one writer at a time, so its ids follow commit order. Kept as
-- a step so that both backends number their migrations alike.
SELECT 1;
