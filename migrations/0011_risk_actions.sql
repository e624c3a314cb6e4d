-- Actions that treat a risk, each with an owner and a due date.
CREATE TABLE risk_actions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    risk_id     bigint      NOT NULL REFERENCES risks (id),
    description text        NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    owner_id    bigint      NOT NULL REFERENCES users (id),
    due_date    date        NOT NULL,
    done_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risk_actions_risk_idx ON risk_actions (risk_id, due_date);
CREATE INDEX risk_actions_open_idx ON risk_actions (due_date) WHERE done_at IS NULL;
