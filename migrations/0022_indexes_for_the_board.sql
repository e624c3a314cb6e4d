-- Indexes the board's pages need once the registers are large, and the end of each
-- project's latest reported period kept on the project for the "overdue" list.

-- Whose conflicts of interest: the risks a person owns, the budget requests about a project.
CREATE INDEX risks_owner_idx ON risks (owner_id);
CREATE INDEX budget_requests_project_idx ON budget_requests (project_id);

-- Risks accepted (not closed) are the only candidates for an unapproved exception.
CREATE INDEX risks_accepted_idx
    ON risks (risk_residual_order(residual_likelihood, residual_impact), reference_order(reference))
    WHERE treatment = 'accept' AND status <> 'closed';

-- The end of the latest reported period, beside the RAG order (both from the latest report).
ALTER TABLE projects ADD COLUMN reported_through date;

CREATE OR REPLACE FUNCTION projects_rag_order() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    report record;
BEGIN
    SELECT overall_rag, period_end INTO report FROM status_reports WHERE id = NEW.last_report_id;
    NEW.rag_order := CASE report.overall_rag WHEN 'red' THEN '0' WHEN 'amber' THEN '1'
                                             WHEN 'green' THEN '2' ELSE '3' END;
    NEW.reported_through := report.period_end;
    RETURN NEW;
END
$$;

UPDATE projects p SET reported_through = r.period_end
FROM status_reports r WHERE r.id = p.last_report_id;

-- Projects that report (approved or in delivery), by cadence and how far they reported.
CREATE INDEX projects_reporting_idx
    ON projects (reporting_cadence, coalesce(reported_through, '-infinity'::date))
    WHERE phase IN ('approved', 'in_delivery');
