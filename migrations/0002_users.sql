-- Accounts and their roles. A person may hold several roles; accounts are never deleted,
-- only deactivated, so the audit trail always names a real account.
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    display_name  text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
    -- argon2id PHC string
    password_hash text        NOT NULL,
    is_active     boolean     NOT NULL DEFAULT true,
    -- The board's chair (a board member) may close requests at their due date.
    is_chair      boolean     NOT NULL DEFAULT false,
    -- Bumped to end every session of the account at once (deactivation, password change).
    session_epoch integer     NOT NULL DEFAULT 0,
    -- Optimistic concurrency for edits.
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE user_roles (
    user_id bigint NOT NULL REFERENCES users (id),
    role    text   NOT NULL CHECK (role IN ('board', 'it_manager', 'auditor', 'admin')),
    PRIMARY KEY (user_id, role)
);

-- Failed sign-ins per account (`account:<email>`) and per address (`address:<ip>`), kept in
-- the database so that every instance behind a load balancer sees the same counts.
CREATE TABLE login_throttle (
    key             text        PRIMARY KEY,
    failures        integer     NOT NULL,
    last_failure_at timestamptz NOT NULL,
    blocked_until   timestamptz
);
