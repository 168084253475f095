-- SQLite only: the change log of entry rows read by the in-memory posting lists
-- (postings.rs), which PostgreSQL does not use (concurrent writers there commit out of id
-- order, so a log id would not say what a reader has seen). Kept as a step so that both
-- backends number their migrations alike.
SELECT 1;
