-- Policies with a governed lifecycle: every edit is a new version, the board approves the
-- publication of an exact version through the approvals engine, published text never
-- changes, and time-limited exceptions are board decisions too.

CREATE TABLE policies (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference              text        NOT NULL UNIQUE,
    -- The working title (the latest version's); each version keeps its own.
    title                  text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    owner_id               bigint      NOT NULL REFERENCES users (id),
    category               text        NOT NULL CHECK (category IN (
                               'information_security', 'acceptable_use', 'access', 'data',
                               'continuity', 'change', 'vendor', 'operations', 'governance')),
    review_interval_months smallint    NOT NULL CHECK (review_interval_months BETWEEN 1 AND 60),
    -- The version everyone reads, and when the owner must next review it.
    published_version_id   bigint,
    next_review_on         date,
    last_reviewed_on       date,
    retired_at             timestamptz,
    retired_reason         text        NOT NULL DEFAULT '',
    version                integer     NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE policy_reference_seq;
CREATE INDEX policies_review_idx ON policies (next_review_on)
    WHERE retired_at IS NULL AND published_version_id IS NOT NULL;

CREATE TABLE policy_versions (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    policy_id            bigint      NOT NULL REFERENCES policies (id),
    number               integer     NOT NULL CHECK (number >= 1),
    title                text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    scope                text        NOT NULL CHECK (length(scope) <= 2000),
    body                 text        NOT NULL CHECK (length(body) <= 200000),
    change_note          text        NOT NULL DEFAULT '' CHECK (length(change_note) <= 2000),
    -- SHA-256 of the text the board approves (title, scope, body).
    content_hash         text        NOT NULL,
    status               text        NOT NULL DEFAULT 'draft'
                         CHECK (status IN ('draft', 'approved', 'published', 'superseded')),
    created_by           bigint      NOT NULL REFERENCES users (id),
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    approved_decision_id bigint      REFERENCES decisions (id),
    approved_at          timestamptz,
    published_by         bigint      REFERENCES users (id),
    published_at         timestamptz,
    UNIQUE (policy_id, number)
);
ALTER TABLE policies ADD CONSTRAINT policies_published_version_fkey
    FOREIGN KEY (published_version_id) REFERENCES policy_versions (id);

-- A version's text is written once: the database refuses to rewrite or remove it, and its
-- status only moves forward (draft -> approved -> published -> superseded).
CREATE FUNCTION policy_versions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'policy version % cannot be removed', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.policy_id, NEW.number, NEW.title, NEW.scope, NEW.body, NEW.change_note,
        NEW.content_hash, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM
       (OLD.policy_id, OLD.number, OLD.title, OLD.scope, OLD.body, OLD.change_note,
        OLD.content_hash, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'the text of policy version % cannot be changed', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status <> OLD.status AND NOT (
           (OLD.status = 'draft' AND NEW.status = 'approved')
        OR (OLD.status = 'approved' AND NEW.status = 'published')
        OR (OLD.status = 'published' AND NEW.status = 'superseded')) THEN
        RAISE EXCEPTION 'policy version % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER policy_versions_frozen
    BEFORE UPDATE OR DELETE ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION policy_versions_immutable();

ALTER TABLE approval_requests DROP CONSTRAINT approval_requests_kind_check;
ALTER TABLE approval_requests ADD CONSTRAINT approval_requests_kind_check
    CHECK (kind IN ('budget', 'risk_acceptance', 'policy_publication', 'policy_exception'));

-- The board is asked to approve the publication of this exact version.
CREATE TABLE policy_publications (
    request_id        bigint PRIMARY KEY REFERENCES approval_requests (id),
    policy_version_id bigint NOT NULL REFERENCES policy_versions (id)
);
CREATE INDEX policy_publications_version_idx ON policy_publications (policy_version_id);

-- A time-limited exception to a policy; in force once the board approves it, until it
-- expires.
CREATE TABLE policy_exceptions (
    request_id            bigint PRIMARY KEY REFERENCES approval_requests (id),
    policy_id             bigint NOT NULL REFERENCES policies (id),
    scope                 text   NOT NULL CHECK (length(scope) BETWEEN 1 AND 2000),
    justification         text   NOT NULL CHECK (length(justification) BETWEEN 1 AND 10000),
    compensating_controls text   NOT NULL DEFAULT '' CHECK (length(compensating_controls) <= 10000),
    starts_on             date   NOT NULL,
    expires_on            date   NOT NULL,
    CHECK (expires_on >= starts_on)
);
CREATE INDEX policy_exceptions_policy_idx ON policy_exceptions (policy_id);

-- The risks a policy mitigates.
CREATE TABLE policy_risks (
    policy_id bigint      NOT NULL REFERENCES policies (id),
    risk_id   bigint      NOT NULL REFERENCES risks (id),
    linked_by bigint      NOT NULL REFERENCES users (id),
    linked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (policy_id, risk_id)
);
CREATE INDEX policy_risks_risk_idx ON policy_risks (risk_id);
