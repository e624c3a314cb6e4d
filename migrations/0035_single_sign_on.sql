-- Single sign-on with OpenID Connect providers (configured by flags or environment).

-- An account that signs in only through a provider: its password is refused.
ALTER TABLE users ADD COLUMN sso_only boolean NOT NULL DEFAULT false;

-- A sign-in sent to a provider and not back yet: what the callback must match (state),
-- what the ID token must carry (nonce), and the PKCE verifier. Taken by the callback.
CREATE TABLE sso_logins (
    session_id    bigint      PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    provider      text        NOT NULL CHECK (char_length(provider) BETWEEN 1 AND 40),
    state         text        NOT NULL,
    nonce         text        NOT NULL,
    pkce_verifier text        NOT NULL,
    next          text        NOT NULL,
    expires_at    timestamptz NOT NULL
);

-- The provider a session signed in through (to offer its sign-out at the end).
CREATE TABLE sso_sessions (
    session_id bigint PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    provider   text   NOT NULL
);
