-- Accepting a risk above the board's appetite is a board decision, taken through the
-- approvals engine on the exact assessment it was asked about, and valid until a date.
ALTER TABLE approval_requests DROP CONSTRAINT approval_requests_kind_check;
ALTER TABLE approval_requests ADD CONSTRAINT approval_requests_kind_check
    CHECK (kind IN ('budget', 'risk_acceptance'));

CREATE TABLE risk_acceptances (
    request_id          bigint   PRIMARY KEY REFERENCES approval_requests (id),
    risk_id             bigint   NOT NULL REFERENCES risks (id),
    -- The assessment the board is asked to accept.
    residual_likelihood smallint NOT NULL,
    residual_impact     smallint NOT NULL,
    appetite            smallint NOT NULL,
    justification       text     NOT NULL CHECK (length(justification) BETWEEN 1 AND 10000),
    expires_on          date     NOT NULL
);
CREATE INDEX risk_acceptances_risk_idx ON risk_acceptances (risk_id);

-- The acceptance in force: the decision, the rating it covers, and its expiry.
ALTER TABLE risks
    ADD COLUMN accepted_decision_id         bigint REFERENCES decisions (id),
    ADD COLUMN accepted_residual_likelihood smallint,
    ADD COLUMN accepted_residual_impact     smallint,
    ADD COLUMN accepted_until               date;
