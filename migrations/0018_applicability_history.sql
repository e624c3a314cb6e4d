-- Every Statement of Applicability decision, so that the compliance report as of a past
-- date counts as not applicable only what was decided so by then.
CREATE TABLE applicability_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requirement_id bigint      NOT NULL REFERENCES framework_requirements (id),
    applicable     boolean     NOT NULL,
    justification  text        NOT NULL,
    decided_by     bigint      NOT NULL REFERENCES users (id),
    decided_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX applicability_history_idx ON applicability_history (requirement_id, decided_at);
INSERT INTO applicability_history (requirement_id, applicable, justification, decided_by, decided_at)
    SELECT requirement_id, applicable, justification, decided_by, decided_at FROM applicability;
