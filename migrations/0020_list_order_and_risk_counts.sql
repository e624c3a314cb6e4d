-- Lists that stay as fast with 20,000 records as with 40: references in number order,
-- indexes for each list's sort, and the heat maps' counts kept up to date.

-- The order of references of one series (`RSK-9999` before `RSK-10000`). References of a
-- series differ only in their number, padded to at least four digits and widened beyond,
-- so a longer reference is a larger number: the length first, then the text.
CREATE FUNCTION reference_order(reference text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lpad(length(reference)::text, 3, '0') || reference $$;

-- A risk's place when listed by residual score, highest first (as text, like every
-- list's sort key, so that a page can continue after it).
CREATE FUNCTION risk_residual_order(residual_likelihood smallint, residual_impact smallint)
    RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lpad((100 - residual_likelihood * residual_impact)::text, 3, '0') $$;

CREATE INDEX risks_reference_order_idx ON risks (reference_order(reference));
CREATE INDEX risks_residual_order_idx
    ON risks (risk_residual_order(residual_likelihood, residual_impact), reference_order(reference));
DROP INDEX risks_category_idx;
CREATE INDEX risks_category_idx ON risks (category_id, reference_order(reference));
CREATE INDEX risks_status_idx ON risks (status, reference_order(reference));

CREATE INDEX policies_reference_order_idx ON policies (reference_order(reference));
CREATE INDEX policies_owner_idx ON policies (owner_id, reference_order(reference));
CREATE INDEX policies_category_idx ON policies (category, reference_order(reference));

CREATE INDEX projects_reference_order_idx ON projects (reference_order(reference));
DROP INDEX projects_manager_idx;
CREATE INDEX projects_manager_idx ON projects (manager_id, reference_order(reference));
DROP INDEX projects_phase_idx;
CREATE INDEX projects_phase_idx ON projects (phase, reference_order(reference));
DROP INDEX projects_objective_idx;
CREATE INDEX projects_objective_idx ON projects (objective_id, reference_order(reference));

-- Policies are searched in the text of their versions, through an index.
ALTER TABLE policy_versions
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('english', title || ' ' || body)) STORED;
CREATE INDEX policy_versions_search_idx ON policy_versions USING gin (search);

CREATE INDEX decisions_kind_idx ON decisions (kind, decided_at DESC, id DESC);

-- Which risks changed rating since a moment: the assessments after it.
CREATE INDEX risk_assessments_assessed_at_idx ON risk_assessments (assessed_at);

-- The heat maps count the risks that are not closed per inherent and residual rating.
-- Counting the register on every view of the board's page grows with the register; these
-- counts are kept by a trigger in the same transaction as the change.
CREATE TABLE risk_rating_counts (
    likelihood          smallint NOT NULL,
    impact              smallint NOT NULL,
    residual_likelihood smallint NOT NULL,
    residual_impact     smallint NOT NULL,
    risks               bigint   NOT NULL CHECK (risks >= 0),
    PRIMARY KEY (likelihood, impact, residual_likelihood, residual_impact)
);

CREATE FUNCTION risk_rating_counts_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'closed' THEN
        UPDATE risk_rating_counts SET risks = risks - 1
        WHERE likelihood = OLD.likelihood AND impact = OLD.impact
          AND residual_likelihood = OLD.residual_likelihood
          AND residual_impact = OLD.residual_impact;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status <> 'closed' THEN
        INSERT INTO risk_rating_counts AS c
            (likelihood, impact, residual_likelihood, residual_impact, risks)
        VALUES (NEW.likelihood, NEW.impact, NEW.residual_likelihood, NEW.residual_impact, 1)
        ON CONFLICT (likelihood, impact, residual_likelihood, residual_impact)
            DO UPDATE SET risks = c.risks + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER risks_rating_counts
    AFTER INSERT OR DELETE OR UPDATE OF likelihood, impact, residual_likelihood,
                                        residual_impact, status
    ON risks FOR EACH ROW EXECUTE FUNCTION risk_rating_counts_follow();

INSERT INTO risk_rating_counts
SELECT likelihood, impact, residual_likelihood, residual_impact, count(*)
FROM risks WHERE status <> 'closed'
GROUP BY likelihood, impact, residual_likelihood, residual_impact;
