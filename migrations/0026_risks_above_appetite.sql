-- Whether a risk's residual score is above its category's appetite, kept on the risk.
-- Computed per row at read time, the board's "accepted above appetite without the
-- board's acceptance" list had to read every accepted risk to find the few above
-- appetite (no plan can estimate a comparison with another table's column); kept here,
-- that list and the "above appetite" filter read a small partial index.

ALTER TABLE risks ADD COLUMN above_appetite boolean NOT NULL DEFAULT false;

CREATE FUNCTION risk_above_appetite(residual_score integer, category bigint) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(residual_score > (SELECT appetite FROM risk_categories WHERE id = category),
                    false)
$$;

CREATE FUNCTION risks_above_appetite_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.above_appetite := risk_above_appetite(NEW.residual_likelihood * NEW.residual_impact,
                                              NEW.category_id);
    RETURN NEW;
END
$$;

CREATE TRIGGER risks_above_appetite
    BEFORE INSERT OR UPDATE OF residual_likelihood, residual_impact, category_id ON risks
    FOR EACH ROW EXECUTE FUNCTION risks_above_appetite_follow();

-- The board changes a category's appetite: its risks are judged again.
CREATE FUNCTION risk_categories_appetite_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE risks
    SET above_appetite = coalesce(residual_likelihood * residual_impact > NEW.appetite, false)
    WHERE category_id = NEW.id
      AND above_appetite IS DISTINCT FROM
          coalesce(residual_likelihood * residual_impact > NEW.appetite, false);
    RETURN NULL;
END
$$;

CREATE TRIGGER risk_categories_appetite
    AFTER UPDATE OF appetite ON risk_categories
    FOR EACH ROW WHEN (OLD.appetite IS DISTINCT FROM NEW.appetite)
    EXECUTE FUNCTION risk_categories_appetite_follow();

UPDATE risks
SET above_appetite = risk_above_appetite(residual_likelihood * residual_impact, category_id);

-- The candidates for an unapproved exception: accepted, not closed, above appetite.
DROP INDEX risks_accepted_idx;
CREATE INDEX risks_accepted_above_appetite_idx
    ON risks (risk_residual_order(residual_likelihood, residual_impact), reference_order(reference))
    WHERE above_appetite AND treatment = 'accept' AND status <> 'closed';
-- Every risk above appetite, highest first (the board's list, the register's filter).
CREATE INDEX risks_above_appetite_idx
    ON risks (risk_residual_order(residual_likelihood, residual_impact), reference_order(reference))
    WHERE above_appetite;
