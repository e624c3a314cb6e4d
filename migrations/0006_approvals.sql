-- The approvals engine: requests for a board decision about a subject (now budget requests;
-- later policy publication, risk acceptance, exceptions), the votes cast on them, the
-- recusals declared, and the decision records (board resolutions) that close them.

-- References such as REQ-2026-0001 and DEC-2026-0001 count per kind and per year.
CREATE TABLE reference_counters (
    prefix text    NOT NULL,
    year   integer NOT NULL,
    last   integer NOT NULL,
    PRIMARY KEY (prefix, year)
);

CREATE TABLE approval_requests (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference        text        NOT NULL UNIQUE,
    kind             text        NOT NULL CHECK (kind IN ('budget')),
    title            text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    summary          text        NOT NULL DEFAULT '',
    requester_id     bigint      NOT NULL REFERENCES users (id),
    -- The project the subject concerns: its manager may not vote either.
    project_id       bigint      REFERENCES projects (id),
    due_date         date        NOT NULL,
    status           text        NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'open', 'approved', 'rejected', 'withdrawn', 'expired')),
    -- The rule, fixed when the request opens: at least quorum_percent of the eligible
    -- members vote, and more than majority_percent of the non-abstaining votes approve.
    quorum_percent   integer     NOT NULL CHECK (quorum_percent BETWEEN 1 AND 100),
    majority_percent integer     NOT NULL CHECK (majority_percent BETWEEN 1 AND 99),
    -- Hide the running tally from voters until the request closes (against herding).
    hide_tally       boolean     NOT NULL DEFAULT false,
    -- What the board reads, and its hash: a vote binds to one content version.
    content_version  integer     NOT NULL DEFAULT 1,
    content_hash     text        NOT NULL DEFAULT '',
    opened_at        timestamptz,
    closed_at        timestamptz,
    -- Optimistic concurrency for the requester's edits.
    version          integer     NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status IN ('draft', 'open')) = (closed_at IS NULL))
);
CREATE INDEX approval_requests_status_idx ON approval_requests (status, due_date);
CREATE INDEX approval_requests_requester_idx ON approval_requests (requester_id, id DESC);
CREATE INDEX approval_requests_project_idx ON approval_requests (project_id);

-- The subject of a budget request.
CREATE TABLE budget_requests (
    request_id   bigint  PRIMARY KEY REFERENCES approval_requests (id),
    project_id   bigint  NOT NULL REFERENCES projects (id),
    amount       bigint  NOT NULL CHECK (amount > 0),
    spend_type   text    NOT NULL CHECK (spend_type IN ('capex', 'opex')),
    fiscal_year  integer NOT NULL CHECK (fiscal_year BETWEEN 2000 AND 2100),
    benefits     text    NOT NULL DEFAULT '',
    costs        text    NOT NULL DEFAULT '',
    risks        text    NOT NULL DEFAULT '',
    alternatives text    NOT NULL DEFAULT ''
);

CREATE TABLE votes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id      bigint      NOT NULL REFERENCES approval_requests (id),
    voter_id        bigint      NOT NULL REFERENCES users (id),
    content_version integer     NOT NULL,
    choice          text        NOT NULL CHECK (choice IN ('approve', 'reject', 'abstain')),
    comment         text        NOT NULL DEFAULT '',
    cast_at         timestamptz NOT NULL DEFAULT now(),
    -- A vote ends when its voter changes it or when the request's content changes.
    ended_at        timestamptz,
    end_reason      text        CHECK (end_reason IN ('changed', 'set_aside')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
-- One live vote per member and request, whatever arrives at the same instant.
CREATE UNIQUE INDEX votes_one_live_per_voter ON votes (request_id, voter_id) WHERE ended_at IS NULL;
CREATE INDEX votes_request_idx ON votes (request_id, cast_at);

CREATE TABLE recusals (
    request_id  bigint      NOT NULL REFERENCES approval_requests (id),
    member_id   bigint      NOT NULL REFERENCES users (id),
    reason      text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    declared_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, member_id)
);

-- Decision records. Board resolutions close requests; management decisions (ADR style)
-- arrive later in this table too.
CREATE TABLE decisions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference       text        NOT NULL UNIQUE,
    kind            text        NOT NULL CHECK (kind IN ('resolution')),
    request_id      bigint      UNIQUE REFERENCES approval_requests (id),
    project_id      bigint      REFERENCES projects (id),
    question        text        NOT NULL,
    content_version integer     NOT NULL,
    content_hash    text        NOT NULL,
    outcome         text        NOT NULL CHECK (outcome IN ('approved', 'rejected', 'expired')),
    -- Every voter's vote and comment, the recusals, the counts and the rule.
    tally           jsonb       NOT NULL,
    closed_by       bigint      REFERENCES users (id),
    decided_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decisions_project_idx ON decisions (project_id, decided_at DESC);

-- A resolution is a record: nothing changes or removes it.
CREATE FUNCTION decisions_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'decision records cannot be changed or removed'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER decisions_immutable
    BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION decisions_refuse_change();

-- The board's budget per fiscal year: the envelope it sets, and what approved requests
-- have committed.
CREATE TABLE fiscal_years (
    year      integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    envelope  bigint  NOT NULL DEFAULT 0 CHECK (envelope >= 0),
    committed bigint  NOT NULL DEFAULT 0 CHECK (committed >= 0)
);
