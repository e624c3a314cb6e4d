-- Whether a project's latest report asks the board for a decision, kept on the project
-- (with its RAG order and reported period) so that the board's list reads an index.
ALTER TABLE projects ADD COLUMN asks_board boolean NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION projects_rag_order() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    report record;
BEGIN
    SELECT overall_rag, period_end, decisions_needed INTO report
    FROM status_reports WHERE id = NEW.last_report_id;
    NEW.rag_order := CASE report.overall_rag WHEN 'red' THEN '0' WHEN 'amber' THEN '1'
                                             WHEN 'green' THEN '2' ELSE '3' END;
    NEW.reported_through := report.period_end;
    NEW.asks_board := coalesce(report.decisions_needed, '') <> '';
    RETURN NEW;
END
$$;

UPDATE projects p SET asks_board = true
FROM status_reports r WHERE r.id = p.last_report_id AND r.decisions_needed <> '';

CREATE INDEX projects_asking_board_idx ON projects (reference_order(reference)) WHERE asks_board;
