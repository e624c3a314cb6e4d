-- The board's pages read figures kept up to date as records change, instead of reading
-- every project or risk on every view: their cost no longer grows with the registers.

-- 1. The portfolio's figures per objective, phase and latest RAG ('none': no report yet).
--    A project's latest report never changes once submitted (a correction is a new
--    report), so a project's contribution follows from its own row and that report.
CREATE TABLE portfolio_figures (
    objective_id bigint NOT NULL REFERENCES objectives (id),
    phase        text   NOT NULL,
    rag          text   NOT NULL,
    projects     bigint NOT NULL CHECK (projects >= 0),
    budget       bigint NOT NULL,
    spend        bigint NOT NULL,
    forecast     bigint NOT NULL,
    PRIMARY KEY (objective_id, phase, rag)
);

CREATE FUNCTION portfolio_figures_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    report record;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT overall_rag, spend_to_date, forecast_at_completion INTO report
        FROM status_reports WHERE id = OLD.last_report_id;
        UPDATE portfolio_figures
        SET projects = projects - 1,
            budget = budget - OLD.approved_budget,
            spend = spend - coalesce(report.spend_to_date, 0),
            forecast = forecast - coalesce(report.forecast_at_completion, OLD.approved_budget)
        WHERE objective_id = OLD.objective_id AND phase = OLD.phase
          AND rag = coalesce(report.overall_rag, 'none');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT overall_rag, spend_to_date, forecast_at_completion INTO report
        FROM status_reports WHERE id = NEW.last_report_id;
        INSERT INTO portfolio_figures AS f
            (objective_id, phase, rag, projects, budget, spend, forecast)
        VALUES (NEW.objective_id, NEW.phase, coalesce(report.overall_rag, 'none'), 1,
                NEW.approved_budget, coalesce(report.spend_to_date, 0),
                coalesce(report.forecast_at_completion, NEW.approved_budget))
        ON CONFLICT (objective_id, phase, rag) DO UPDATE
        SET projects = f.projects + 1, budget = f.budget + EXCLUDED.budget,
            spend = f.spend + EXCLUDED.spend, forecast = f.forecast + EXCLUDED.forecast;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER projects_portfolio_figures
    AFTER INSERT OR DELETE OR UPDATE OF objective_id, phase, approved_budget, last_report_id
    ON projects FOR EACH ROW EXECUTE FUNCTION portfolio_figures_follow();

INSERT INTO portfolio_figures
SELECT p.objective_id, p.phase, coalesce(r.overall_rag, 'none'), count(*),
       sum(p.approved_budget), coalesce(sum(r.spend_to_date), 0),
       sum(coalesce(r.forecast_at_completion, p.approved_budget))
FROM projects p LEFT JOIN status_reports r ON r.id = p.last_report_id
GROUP BY p.objective_id, p.phase, coalesce(r.overall_rag, 'none');

-- 2. A project's place in "needs attention" order (its latest RAG, red first), kept on
--    the project so that the board's list reads an index instead of sorting them all.
ALTER TABLE projects ADD COLUMN rag_order text NOT NULL DEFAULT '3';

CREATE FUNCTION projects_rag_order() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.rag_order := coalesce((SELECT CASE overall_rag WHEN 'red' THEN '0' WHEN 'amber' THEN '1'
                                                       ELSE '2' END
                               FROM status_reports WHERE id = NEW.last_report_id), '3');
    RETURN NEW;
END
$$;

CREATE TRIGGER projects_rag_order
    BEFORE INSERT OR UPDATE OF last_report_id ON projects
    FOR EACH ROW EXECUTE FUNCTION projects_rag_order();

UPDATE projects p
SET rag_order = CASE r.overall_rag WHEN 'red' THEN '0' WHEN 'amber' THEN '1' ELSE '2' END
FROM status_reports r WHERE r.id = p.last_report_id;

CREATE INDEX projects_rag_order_idx ON projects (rag_order, reference_order(reference));

-- 3. How each risk's residual score moved since the last quarter end: written with every
--    new rating (src/risks/repo.rs), one row per quarter and risk, so that the board's
--    "movement since the quarter end" reads the largest rises from an index. `before` is
--    the score in force at the quarter end (NULL: the risk did not exist then).
CREATE TABLE risk_movements (
    quarter_end date     NOT NULL,
    risk_id     bigint   NOT NULL REFERENCES risks (id),
    before      smallint,
    now         smallint NOT NULL,
    rise        smallint GENERATED ALWAYS AS (now - coalesce(before, 0)) STORED,
    PRIMARY KEY (quarter_end, risk_id)
);
CREATE INDEX risk_movements_rise_idx ON risk_movements (quarter_end, rise DESC, risk_id)
    WHERE before IS DISTINCT FROM now;

-- The current quarter's movements of the risks rated since it began.
WITH quarter AS (
    SELECT (date_trunc('quarter', now() AT TIME ZONE 'UTC') - interval '1 day')::date AS quarter_end,
           date_trunc('quarter', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS moment)
INSERT INTO risk_movements (quarter_end, risk_id, before, now)
SELECT quarter.quarter_end, r.id,
       (SELECT a.residual_likelihood * a.residual_impact FROM risk_assessments a
        WHERE a.risk_id = r.id AND a.assessed_at < quarter.moment
        ORDER BY a.assessed_at DESC, a.id DESC LIMIT 1),
       r.residual_likelihood * r.residual_impact
FROM quarter, risks r
WHERE EXISTS (SELECT FROM risk_assessments a
              WHERE a.risk_id = r.id AND a.assessed_at >= quarter.moment);
