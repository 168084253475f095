-- Sessions (SEC-3, SEC-17): when an authtoken was last used, for the idle timeout, and the
-- TOTP time step of the last two-factor code that logged in, so that each code logs in once.
ALTER TABLE authtokens ADD COLUMN last_used_at TEXT;
ALTER TABLE users ADD COLUMN tfa_last_step BIGINT;
