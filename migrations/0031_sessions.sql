-- Sessions of Quorum's own, replacing tower-sessions' opaque records: one row per browser
-- session, read together with its account in one statement per request, and listed to
-- their owner ("Your sessions": device, address, when signed in, last active).
DROP SCHEMA tower_sessions CASCADE;

CREATE TABLE sessions (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SHA-256 of the cookie's secret: the table (or a backup of it) opens no session.
    token_hash    bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    -- Stays the same for the session's life: an open form in another tab keeps working.
    csrf_token    text        NOT NULL,
    -- NULL until someone signs in (a visitor on the sign-in page still needs a token).
    user_id       bigint      REFERENCES users (id) ON DELETE CASCADE,
    -- The account's `session_epoch` at sign-in; bumping that ends every session at once.
    session_epoch integer,
    signed_in_at  timestamptz,
    -- How the person proved who they are (auth::SignInMethod).
    sign_in_method text CHECK (sign_in_method IN
        ('password', 'password_totp', 'password_recovery_code', 'password_passkey', 'passkey', 'sso')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Pushed back at most once per touch interval, so reading a page writes nothing.
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    -- The idle deadline, never past the absolute one (signed_in_at + absolute timeout).
    expires_at    timestamptz NOT NULL,
    user_agent    text        NOT NULL DEFAULT '',
    client_ip     text        NOT NULL DEFAULT '',
    -- Messages for the next page shown (NULL: none).
    flashes       jsonb,
    CHECK ((user_id IS NULL) = (signed_in_at IS NULL)),
    CHECK ((user_id IS NULL) = (session_epoch IS NULL)),
    CHECK ((user_id IS NULL) = (sign_in_method IS NULL))
);

CREATE INDEX sessions_user_idx ON sessions (user_id, last_seen_at DESC) WHERE user_id IS NOT NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
