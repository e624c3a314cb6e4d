-- What a person is told about their own account's security, in their inbox (and by e-mail
-- when SMTP is configured): a sign-in from a device not seen before, a change of factors,
-- a password change. Dismissed by its person; never deleted.
CREATE TABLE account_notices (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text        NOT NULL CHECK (kind IN ('new_device', 'second_factor_added',
                     'second_factor_removed', 'second_factor_reset', 'recovery_codes_renewed',
                     'password_changed', 'password_reset')),
    detail       text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    dismissed_at timestamptz
);
CREATE INDEX account_notices_open_idx ON account_notices (user_id, created_at DESC)
    WHERE dismissed_at IS NULL;

-- The devices (browser and system, as "Firefox on Linux") each account signed in from.
CREATE TABLE known_devices (
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device        text        NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, device)
);
