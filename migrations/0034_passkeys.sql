-- Passkeys and security keys (WebAuthn): a second factor after the password, or the only
-- one where the organisation allows signing in with a passkey alone.

-- The opaque handle an authenticator stores for the account (WebAuthn's user.id): random,
-- so that it tells nothing about the account, and never reused.
ALTER TABLE users ADD COLUMN webauthn_user_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid();

-- An account's passkeys, each named by its owner ("Work laptop").
CREATE TABLE passkeys (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 60),
    -- A credential belongs to one account only (a second registration is refused).
    credential_id bytea       NOT NULL UNIQUE CHECK (octet_length(credential_id) BETWEEN 1 AND 1023),
    -- webauthn-rs's `Passkey`: the public key, its algorithm and the signature counter.
    credential    jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    UNIQUE (user_id, name)
);

-- A WebAuthn ceremony under way in a session: the challenge sent to the browser and what
-- it is for. Taken (deleted) by the answer, so that an answer counts once.
CREATE TABLE webauthn_ceremonies (
    session_id bigint      PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    purpose    text        NOT NULL
               CHECK (purpose IN ('register', 'second_factor', 'passwordless', 'step_up')),
    -- The account the ceremony is for (none while a passkey alone is to say who it is).
    user_id    bigint      REFERENCES users (id) ON DELETE CASCADE,
    state      jsonb       NOT NULL,
    expires_at timestamptz NOT NULL
);

-- How people may sign in, for the whole organisation (one row).
CREATE TABLE sign_in_policy (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- A passkey alone (it asks for the device's PIN or biometrics: two factors in one).
    passkey_without_password boolean NOT NULL DEFAULT false
);
INSERT INTO sign_in_policy DEFAULT VALUES;
