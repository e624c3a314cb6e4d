-- Management's own decision records (ADR style) beside the board's resolutions, in one
-- decision log.
ALTER TABLE decisions DROP CONSTRAINT decisions_kind_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_kind_check CHECK (kind IN ('resolution', 'management'));

-- A resolution's vote record; management decisions have none.
ALTER TABLE decisions ALTER COLUMN content_version DROP NOT NULL;
ALTER TABLE decisions ALTER COLUMN content_hash DROP NOT NULL;
ALTER TABLE decisions ALTER COLUMN outcome DROP NOT NULL;
ALTER TABLE decisions ALTER COLUMN tally DROP NOT NULL;

ALTER TABLE decisions
    ADD COLUMN context       text    NOT NULL DEFAULT '',
    ADD COLUMN options       text    NOT NULL DEFAULT '',
    ADD COLUMN decision      text    NOT NULL DEFAULT '',
    ADD COLUMN consequences  text    NOT NULL DEFAULT '',
    ADD COLUMN status        text    CHECK (status IN ('proposed', 'accepted', 'superseded', 'deprecated')),
    ADD COLUMN superseded_by bigint  REFERENCES decisions (id),
    ADD COLUMN author_id     bigint  REFERENCES users (id),
    ADD COLUMN version       integer NOT NULL DEFAULT 1,
    ADD CONSTRAINT decisions_kind_fields CHECK (
        CASE kind
            WHEN 'resolution' THEN outcome IS NOT NULL AND tally IS NOT NULL AND status IS NULL
            ELSE outcome IS NULL AND status IS NOT NULL AND author_id IS NOT NULL
        END),
    ADD CONSTRAINT decisions_superseded_has_successor CHECK ((status = 'superseded') = (superseded_by IS NOT NULL));

CREATE INDEX decisions_log_idx ON decisions (decided_at DESC, id DESC);

-- Resolutions never change. A management decision can be edited while proposed; once
-- accepted only its status moves on (to superseded, with its successor, or deprecated).
-- Nothing is ever deleted.
CREATE OR REPLACE FUNCTION decisions_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.kind = 'management' THEN
        IF OLD.status = 'proposed' THEN
            RETURN NEW;
        END IF;
        IF OLD.status = 'accepted' AND NEW.status IN ('superseded', 'deprecated')
           AND (NEW.question, NEW.context, NEW.options, NEW.decision, NEW.consequences,
                NEW.project_id, NEW.reference, NEW.kind, NEW.author_id, NEW.decided_at)
               IS NOT DISTINCT FROM
               (OLD.question, OLD.context, OLD.options, OLD.decision, OLD.consequences,
                OLD.project_id, OLD.reference, OLD.kind, OLD.author_id, OLD.decided_at) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'decision % is a record: it cannot be changed or removed', OLD.reference
        USING ERRCODE = 'insufficient_privilege';
END
$$;
