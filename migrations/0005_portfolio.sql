-- The portfolio: the board's strategic objectives, the projects that serve them, their
-- approved budgets, and the periodic status reports IT managers file.

-- Objectives the board keeps (in the spirit of COBIT 2019's goals cascade: every project
-- should trace to one).
CREATE TABLE objectives (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference   text        NOT NULL UNIQUE,
    title       text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text        NOT NULL DEFAULT '',
    version     integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE objective_reference_seq;

CREATE TABLE projects (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- PRJ-0001
    reference         text        NOT NULL UNIQUE,
    name              text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description       text        NOT NULL DEFAULT '',
    sponsor           text        NOT NULL CHECK (length(sponsor) BETWEEN 1 AND 200),
    manager_id        bigint      NOT NULL REFERENCES users (id),
    objective_id      bigint      NOT NULL REFERENCES objectives (id),
    phase             text        NOT NULL DEFAULT 'proposed'
                      CHECK (phase IN ('proposed', 'approved', 'in_delivery', 'closed', 'cancelled')),
    start_date        date        NOT NULL,
    planned_end_date  date        NOT NULL,
    reporting_cadence text        NOT NULL CHECK (reporting_cadence IN ('weekly', 'monthly')),
    -- Minor units of the configured currency. Set by the board (later: by approved
    -- budget requests); every change is in project_budget_changes.
    approved_budget   bigint      NOT NULL DEFAULT 0 CHECK (approved_budget >= 0),
    -- The latest submitted report, kept here so that dashboards read one row per project.
    last_report_id    bigint,
    version           integer     NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (planned_end_date >= start_date)
);
CREATE SEQUENCE project_reference_seq;
CREATE INDEX projects_manager_idx ON projects (manager_id, reference);
CREATE INDEX projects_objective_idx ON projects (objective_id);
CREATE INDEX projects_phase_idx ON projects (phase, reference);

CREATE TABLE project_budget_changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id      bigint      NOT NULL REFERENCES projects (id),
    previous_budget bigint      NOT NULL,
    new_budget      bigint      NOT NULL CHECK (new_budget >= 0),
    reason          text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    decided_by      bigint      NOT NULL REFERENCES users (id),
    decided_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_budget_changes_project_idx ON project_budget_changes (project_id, decided_at);

CREATE TABLE status_reports (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id             bigint      NOT NULL REFERENCES projects (id),
    -- The reporting period covered (a week Monday-Sunday, or a calendar month).
    period_start           date        NOT NULL,
    period_end             date        NOT NULL CHECK (period_end >= period_start),
    status                 text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted')),
    overall_rag            text        NOT NULL CHECK (overall_rag IN ('green', 'amber', 'red')),
    schedule_rag           text        NOT NULL CHECK (schedule_rag IN ('green', 'amber', 'red')),
    budget_rag             text        NOT NULL CHECK (budget_rag IN ('green', 'amber', 'red')),
    scope_rag              text        NOT NULL CHECK (scope_rag IN ('green', 'amber', 'red')),
    -- Why a rating is amber or red (required then).
    rag_explanation        text        NOT NULL DEFAULT '',
    percent_complete       smallint    NOT NULL CHECK (percent_complete BETWEEN 0 AND 100),
    spend_to_date          bigint      NOT NULL CHECK (spend_to_date >= 0),
    forecast_at_completion bigint      NOT NULL CHECK (forecast_at_completion >= 0),
    highlights             text        NOT NULL DEFAULT '',
    issues                 text        NOT NULL DEFAULT '',
    decisions_needed       text        NOT NULL DEFAULT '',
    next_steps             text        NOT NULL DEFAULT '',
    -- A correction is a new report for the same period that says what it corrects.
    corrects_report_id     bigint      REFERENCES status_reports (id),
    correction_reason      text        NOT NULL DEFAULT '',
    author_id              bigint      NOT NULL REFERENCES users (id),
    submitted_at           timestamptz,
    version                integer     NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'submitted') = (submitted_at IS NOT NULL)),
    CHECK ((corrects_report_id IS NULL) = (correction_reason = ''))
);
-- One original report per project and period; corrections come on top.
CREATE UNIQUE INDEX status_reports_one_per_period
    ON status_reports (project_id, period_start) WHERE corrects_report_id IS NULL;
CREATE INDEX status_reports_project_idx ON status_reports (project_id, period_start DESC, id DESC);

ALTER TABLE projects ADD CONSTRAINT projects_last_report_fk
    FOREIGN KEY (last_report_id) REFERENCES status_reports (id);

CREATE TABLE report_milestones (
    report_id    bigint   NOT NULL REFERENCES status_reports (id) ON DELETE CASCADE,
    position     smallint NOT NULL,
    name         text     NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    planned_date date     NOT NULL,
    actual_date  date,
    PRIMARY KEY (report_id, position)
);

-- A submitted report is a frozen snapshot: the database refuses to change or remove it,
-- or its milestones, whatever the application does.
CREATE FUNCTION status_reports_freeze_submitted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'submitted' THEN
        RAISE EXCEPTION 'status report % is submitted and cannot be changed', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER status_reports_frozen
    BEFORE UPDATE OR DELETE ON status_reports
    FOR EACH ROW EXECUTE FUNCTION status_reports_freeze_submitted();

CREATE FUNCTION report_milestones_freeze_submitted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    report_status text;
BEGIN
    SELECT status INTO report_status FROM status_reports
        WHERE id = CASE TG_OP WHEN 'INSERT' THEN NEW.report_id ELSE OLD.report_id END;
    IF report_status = 'submitted' THEN
        RAISE EXCEPTION 'the milestones of a submitted status report cannot be changed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER report_milestones_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON report_milestones
    FOR EACH ROW EXECUTE FUNCTION report_milestones_freeze_submitted();
