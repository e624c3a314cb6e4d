-- Whether an account has a second factor (a confirmed authenticator app or a passkey),
-- kept on the account by the tables that hold the factors: every request's session
-- statement reads one column instead of probing both tables.

ALTER TABLE users ADD COLUMN has_second_factor boolean NOT NULL DEFAULT false;

UPDATE users u SET has_second_factor =
    EXISTS (SELECT FROM totp_authenticators t
            WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)
    OR EXISTS (SELECT FROM passkeys k WHERE k.user_id = u.id);

CREATE FUNCTION has_second_factor_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    account bigint;
    has_one boolean;
BEGIN
    FOREACH account IN ARRAY ARRAY[
        CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN OLD.user_id END,
        CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN NEW.user_id END
    ] LOOP
        CONTINUE WHEN account IS NULL;
        has_one := EXISTS (SELECT FROM totp_authenticators t
                           WHERE t.user_id = account AND t.confirmed_at IS NOT NULL)
                   OR EXISTS (SELECT FROM passkeys k WHERE k.user_id = account);
        UPDATE users SET has_second_factor = has_one
        WHERE id = account AND has_second_factor IS DISTINCT FROM has_one;
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE TRIGGER totp_authenticators_has_second_factor
    AFTER INSERT OR UPDATE OR DELETE ON totp_authenticators
    FOR EACH ROW EXECUTE FUNCTION has_second_factor_follow();

CREATE TRIGGER passkeys_has_second_factor
    AFTER INSERT OR DELETE ON passkeys
    FOR EACH ROW EXECUTE FUNCTION has_second_factor_follow();
