-- Server-side sessions, in the layout tower-sessions-sqlx-store expects. Created here (not
-- by the store at start-up) so that the application role needs no CREATE privilege.
CREATE SCHEMA tower_sessions;
CREATE TABLE tower_sessions.session (
    id          text        PRIMARY KEY NOT NULL,
    data        bytea       NOT NULL,
    expiry_date timestamptz NOT NULL
);
CREATE INDEX session_expiry_date_idx ON tower_sessions.session (expiry_date);

GRANT USAGE ON SCHEMA tower_sessions TO quorum_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tower_sessions.session TO quorum_app;
