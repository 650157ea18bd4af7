-- Failed logins per (account, address), for the login rate limit: in the
-- database, so that it holds across every instance sharing it. Rows older
-- than the limit's window are deleted as new ones arrive.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
