-- Compliance: framework catalogues and their requirements, the organisation's controls
-- mapped to them, control tests, evidence, and the ISO 27001 Statement of Applicability.
-- Every change that a past report depends on is kept with its time, so that the
-- compliance report can be rebuilt as it stood at any date.

CREATE TABLE frameworks (
    id                             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code                           text        NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_]{2,40}$'),
    name                           text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- What a mapping is shown with: "ISO 27001 A.5.15".
    short_name                     text        NOT NULL CHECK (length(short_name) BETWEEN 1 AND 40),
    version                        text        NOT NULL DEFAULT '',
    publisher                      text        NOT NULL DEFAULT '',
    -- Shipped with Quorum, or imported by an administrator from a CSV file.
    origin                         text        NOT NULL CHECK (origin IN ('catalogue', 'imported')),
    has_statement_of_applicability boolean     NOT NULL DEFAULT false,
    imported_by                    bigint      REFERENCES users (id),
    created_at                     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE framework_requirements (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    framework_id      bigint   NOT NULL REFERENCES frameworks (id),
    identifier        text     NOT NULL CHECK (length(identifier) BETWEEN 1 AND 40),
    title             text     NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    -- The group it belongs to (a domain, theme, function or category), by identifier.
    parent_identifier text,
    level             smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    -- Controls map to assessable requirements; the others only group them.
    assessable        boolean  NOT NULL,
    position          integer  NOT NULL,
    UNIQUE (framework_id, identifier)
);
CREATE INDEX framework_requirements_order_idx ON framework_requirements (framework_id, position);

CREATE TABLE controls (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference          text        NOT NULL UNIQUE,
    title              text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description        text        NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    owner_id           bigint      NOT NULL REFERENCES users (id),
    frequency          text        NOT NULL CHECK (frequency IN (
                           'continuous', 'daily', 'weekly', 'monthly', 'quarterly',
                           'semiannual', 'annual')),
    implementation     text        NOT NULL DEFAULT 'not_started' CHECK (implementation IN (
                           'not_started', 'partial', 'implemented', 'not_applicable')),
    na_justification   text        NOT NULL DEFAULT '' CHECK (length(na_justification) <= 2000),
    version            integer     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (implementation <> 'not_applicable' OR length(na_justification) > 0)
);
CREATE SEQUENCE control_reference_seq;

-- Every implementation status a control has had.
CREATE TABLE control_status_history (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    control_id       bigint      NOT NULL REFERENCES controls (id),
    implementation   text        NOT NULL,
    na_justification text        NOT NULL DEFAULT '',
    changed_by       bigint      NOT NULL REFERENCES users (id),
    changed_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX control_status_history_idx ON control_status_history (control_id, changed_at);

-- Mappings to framework requirements; an unmapped row is ended, not deleted, so past
-- reports can be rebuilt.
CREATE TABLE control_requirements (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    control_id     bigint      NOT NULL REFERENCES controls (id),
    requirement_id bigint      NOT NULL REFERENCES framework_requirements (id),
    mapped_by      bigint      NOT NULL REFERENCES users (id),
    mapped_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    unmapped_at    timestamptz
);
CREATE UNIQUE INDEX control_requirements_live_idx
    ON control_requirements (control_id, requirement_id) WHERE unmapped_at IS NULL;
CREATE INDEX control_requirements_requirement_idx ON control_requirements (requirement_id);

CREATE TABLE control_policies (
    control_id bigint NOT NULL REFERENCES controls (id),
    policy_id  bigint NOT NULL REFERENCES policies (id),
    PRIMARY KEY (control_id, policy_id)
);
CREATE INDEX control_policies_policy_idx ON control_policies (policy_id);

CREATE TABLE control_risks (
    control_id bigint NOT NULL REFERENCES controls (id),
    risk_id    bigint NOT NULL REFERENCES risks (id),
    PRIMARY KEY (control_id, risk_id)
);
CREATE INDEX control_risks_risk_idx ON control_risks (risk_id);

-- Test results, kept: the latest by test date is the control's current result.
CREATE TABLE control_tests (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    control_id  bigint      NOT NULL REFERENCES controls (id),
    result      text        NOT NULL CHECK (result IN ('effective', 'ineffective', 'not_tested')),
    tested_on   date        NOT NULL,
    tester_id   bigint      NOT NULL REFERENCES users (id),
    notes       text        NOT NULL DEFAULT '' CHECK (length(notes) <= 10000),
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX control_tests_control_idx ON control_tests (control_id, tested_on DESC, id DESC);

-- Evidence files, stored in the database under their id, never under the name they were
-- uploaded with (kept only to show and to suggest on download).
CREATE TABLE evidence (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    control_id    bigint      NOT NULL REFERENCES controls (id),
    title         text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    original_name text        NOT NULL CHECK (length(original_name) BETWEEN 1 AND 255),
    content_type  text        NOT NULL,
    size_bytes    bigint      NOT NULL CHECK (size_bytes > 0),
    sha256        text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    -- The date the evidence is about (an audit period), apart from when it was uploaded.
    about_date    date        NOT NULL,
    valid_until   date,
    uploaded_by   bigint      NOT NULL REFERENCES users (id),
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    content       bytea       NOT NULL,
    CHECK (valid_until IS NULL OR valid_until >= about_date)
);
CREATE INDEX evidence_control_idx ON evidence (control_id, about_date DESC);

-- Evidence is a record: it is never changed or removed once uploaded.
CREATE FUNCTION evidence_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evidence % cannot be changed or removed', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER evidence_frozen
    BEFORE UPDATE OR DELETE ON evidence
    FOR EACH ROW EXECUTE FUNCTION evidence_immutable();

-- The Statement of Applicability: for each requirement of a framework that has one,
-- whether it applies, and why (or why not).
CREATE TABLE applicability (
    requirement_id bigint      PRIMARY KEY REFERENCES framework_requirements (id),
    applicable     boolean     NOT NULL,
    justification  text        NOT NULL CHECK (length(justification) BETWEEN 1 AND 2000),
    decided_by     bigint      NOT NULL REFERENCES users (id),
    decided_at     timestamptz NOT NULL DEFAULT now(),
    version        integer     NOT NULL DEFAULT 1
);
