-- The audit trail: append-only and hash-chained. Every event's hash covers its content and
-- the previous event's hash, so a changed, removed or inserted row breaks the chain.
CREATE TABLE audit_events (
    -- Position in the chain: 1, 2, 3, ... without gaps.
    seq         bigint      PRIMARY KEY CHECK (seq > 0),
    occurred_at timestamptz NOT NULL,
    -- NULL for the system itself and for anonymous visitors (e.g. a failed sign-in).
    actor_id    bigint      REFERENCES users (id),
    actor_label text        NOT NULL,
    action      text        NOT NULL,
    entity_type text        NOT NULL,
    entity_id   text,
    before      jsonb,
    after       jsonb,
    request_id  text,
    prev_hash   bytea       NOT NULL CHECK (length(prev_hash) = 32),
    hash        bytea       NOT NULL CHECK (length(hash) = 32) UNIQUE
);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, seq);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, seq);
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at);

-- The head of the chain: one row, locked by each writer, so that concurrent writers (on any
-- number of instances) append one after the other and never fork the chain.
CREATE TABLE audit_chain_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq       bigint  NOT NULL,
    hash      bytea   NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_chain_head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on audit_events is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
-- ALWAYS: the triggers fire even under session_replication_role = replica.
ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_update_delete;
ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_truncate;

-- The application may read and append, nothing else.
REVOKE ALL ON audit_events FROM quorum_app;
GRANT SELECT, INSERT ON audit_events TO quorum_app;
REVOKE ALL ON audit_chain_head FROM quorum_app;
GRANT SELECT, UPDATE ON audit_chain_head TO quorum_app;
