-- Second factors: an authenticator app (TOTP, RFC 6238) with single-use recovery codes,
-- which roles must have one, and the sign-in step between a correct password and a code.

-- One authenticator app per account.
CREATE TABLE totp_authenticators (
    user_id        bigint      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The shared secret (160 bits): the app holds the same; never shown again after set-up.
    secret         bytea       NOT NULL CHECK (octet_length(secret) = 20),
    -- NULL while being set up: a first correct code confirms it.
    confirmed_at   timestamptz,
    -- The last time step whose code was accepted: each code is used once, never an older one.
    last_used_step bigint      NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Ten single-use codes for when the app is out of reach, kept as SHA-256 hashes (each is
-- about 48 random bits: a slow hash would add nothing but time to every use).
CREATE TABLE recovery_codes (
    user_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea       NOT NULL CHECK (octet_length(code_hash) = 32),
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- The roles whose members must have a second factor. A new installation requires one of
-- the board and the administrators; the demo organisation leaves every role optional.
CREATE TABLE second_factor_policy (
    role     text    PRIMARY KEY CHECK (role IN ('board', 'it_manager', 'auditor', 'admin')),
    required boolean NOT NULL
);
INSERT INTO second_factor_policy (role, required) VALUES
    ('board', true), ('it_manager', false), ('auditor', false), ('admin', true);

-- When the session's person last gave their second factor: the weightiest changes ask for
-- it again when that is too long ago (step-up).
ALTER TABLE sessions ADD COLUMN second_factor_at timestamptz;

-- A visitor's session whose password was right, waiting for the second factor. It is not a
-- signed-in session: nothing but the second step is reachable with it.
ALTER TABLE sessions
    ADD COLUMN pending_user_id bigint REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN pending_epoch   integer,
    ADD COLUMN pending_until   timestamptz,
    ADD CONSTRAINT sessions_pending_is_anonymous
        CHECK (pending_user_id IS NULL OR user_id IS NULL),
    ADD CONSTRAINT sessions_pending_complete
        CHECK ((pending_user_id IS NULL) = (pending_until IS NULL)
               AND (pending_user_id IS NULL) = (pending_epoch IS NULL));
