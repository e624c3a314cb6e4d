-- Whether a member's vote on a request was set aside: a member who changed their vote
-- thousands of times had the request's page read every one of those votes to find out.
CREATE INDEX votes_set_aside_idx ON votes (request_id, voter_id) WHERE end_reason = 'set_aside';

-- The policy register's exception panel starts from the exceptions awaiting the board:
-- the live requests of that kind, not every live request.
CREATE INDEX approval_requests_live_kind_idx ON approval_requests (kind)
    WHERE status IN ('draft', 'open');
