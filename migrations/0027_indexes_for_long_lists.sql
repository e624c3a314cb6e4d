-- Lists that read a few rows of a long history, by an index in their own order.

-- The exports page lists the latest exports (and finds one by its SHA-256): with two
-- million events in the trail and exports among the rarest, walking the trail backwards
-- for them read nearly all of it.
CREATE INDEX audit_events_exports_idx ON audit_events (seq) WHERE action = 'export.generated';

-- A risk's page lists its open actions first, then the done ones, by due date: a risk
-- with thousands of actions sorted them all on every view.
CREATE INDEX risk_actions_page_idx ON risk_actions (risk_id, (done_at IS NOT NULL), due_date, id);
DROP INDEX risk_actions_risk_idx;
