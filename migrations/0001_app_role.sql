-- The server's own connections run as `quorum_app`, a role with only the privileges the
-- application needs. Migrations run as the database owner. The audit trail's table
-- revokes UPDATE/DELETE/TRUNCATE from this role (see the audit migration).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'quorum_app') THEN
        -- LOGIN lets the embedded cluster connect as this role over its private socket;
        -- with DATABASE_URL the owner's connections switch to it with SET ROLE.
        CREATE ROLE quorum_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

-- Lets a non-superuser owner `SET ROLE quorum_app` (a superuser may anyway).
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'quorum_app', 'MEMBER') THEN
        EXECUTE format('GRANT quorum_app TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO quorum_app;

-- Tables created by later migrations are readable and writable by the application unless
-- a migration says otherwise.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO quorum_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO quorum_app;
