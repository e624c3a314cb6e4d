-- The risk register: risks rated on a 5 x 5 scale before and after controls, every rating
-- kept in a history, and the board's appetite per category.

-- A configurable list of categories, each with the highest residual score the board
-- tolerates (NULL: not set yet).
CREATE TABLE risk_categories (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text     NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 80),
    appetite smallint CHECK (appetite BETWEEN 1 AND 25),
    position integer  NOT NULL DEFAULT 0,
    version  integer  NOT NULL DEFAULT 1
);
INSERT INTO risk_categories (name, position) VALUES
    ('Security', 1), ('Availability', 2), ('Compliance', 3), ('Vendor', 4),
    ('Project delivery', 5), ('Data', 6);

CREATE TABLE risks (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference           text        NOT NULL UNIQUE,
    title               text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description         text        NOT NULL DEFAULT '',
    category_id         bigint      NOT NULL REFERENCES risk_categories (id),
    owner_id            bigint      NOT NULL REFERENCES users (id),
    project_id          bigint      REFERENCES projects (id),
    objective_id        bigint      REFERENCES objectives (id),
    likelihood          smallint    NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
    impact              smallint    NOT NULL CHECK (impact BETWEEN 1 AND 5),
    controls            text        NOT NULL DEFAULT '',
    residual_likelihood smallint    NOT NULL CHECK (residual_likelihood BETWEEN 1 AND 5),
    residual_impact     smallint    NOT NULL CHECK (residual_impact BETWEEN 1 AND 5),
    treatment           text        NOT NULL CHECK (treatment IN ('mitigate', 'transfer', 'avoid', 'accept')),
    treatment_plan      text        NOT NULL DEFAULT '',
    next_review_date    date        NOT NULL,
    status              text        NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'treating', 'accepted', 'closed')),
    version             integer     NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- Full-text search over what people write about the risk.
    search              tsvector    GENERATED ALWAYS AS (
                            to_tsvector('english', title || ' ' || description || ' ' || controls || ' ' || treatment_plan)
                        ) STORED
);
CREATE SEQUENCE risk_reference_seq;
CREATE INDEX risks_search_idx ON risks USING gin (search);
CREATE INDEX risks_category_idx ON risks (category_id, reference);
CREATE INDEX risks_review_idx ON risks (next_review_date) WHERE status <> 'closed';

-- Every rating a risk has had, so that its trend can be shown and the register
-- reconstructed as it stood at any date.
CREATE TABLE risk_assessments (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    risk_id             bigint      NOT NULL REFERENCES risks (id),
    likelihood          smallint    NOT NULL,
    impact              smallint    NOT NULL,
    residual_likelihood smallint    NOT NULL,
    residual_impact     smallint    NOT NULL,
    assessed_by         bigint      NOT NULL REFERENCES users (id),
    assessed_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX risk_assessments_risk_idx ON risk_assessments (risk_id, assessed_at);
