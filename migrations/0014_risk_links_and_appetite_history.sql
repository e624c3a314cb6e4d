-- A risk touches any number of projects and objectives (it had one of each).
CREATE TABLE risk_projects (
    risk_id    bigint NOT NULL REFERENCES risks (id),
    project_id bigint NOT NULL REFERENCES projects (id),
    PRIMARY KEY (risk_id, project_id)
);
CREATE INDEX risk_projects_project_idx ON risk_projects (project_id);

CREATE TABLE risk_objectives (
    risk_id      bigint NOT NULL REFERENCES risks (id),
    objective_id bigint NOT NULL REFERENCES objectives (id),
    PRIMARY KEY (risk_id, objective_id)
);
CREATE INDEX risk_objectives_objective_idx ON risk_objectives (objective_id);

INSERT INTO risk_projects (risk_id, project_id)
    SELECT id, project_id FROM risks WHERE project_id IS NOT NULL;
INSERT INTO risk_objectives (risk_id, objective_id)
    SELECT id, objective_id FROM risks WHERE objective_id IS NOT NULL;
ALTER TABLE risks DROP COLUMN project_id, DROP COLUMN objective_id;

-- Every appetite the board has set, so that the register as it stood at a past date is
-- judged against the appetite in force then, not today's.
CREATE TABLE risk_appetite_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id bigint      NOT NULL REFERENCES risk_categories (id),
    appetite    smallint    CHECK (appetite BETWEEN 1 AND 25),
    set_by      bigint      REFERENCES users (id),
    set_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX risk_appetite_history_idx ON risk_appetite_history (category_id, set_at);
INSERT INTO risk_appetite_history (category_id, appetite)
    SELECT id, appetite FROM risk_categories WHERE appetite IS NOT NULL;
