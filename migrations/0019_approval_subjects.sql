-- One typed seam for requests to the board (src/approvals/subject.rs).
--
-- 1. A request names the subject it is about (`risk:42`, `policy:7`, ...); while it is a
--    draft or open, no second request about the same subject may exist. The filing code
--    locks the subject's row and checks first; this index holds whatever races past.
ALTER TABLE approval_requests ADD COLUMN subject_key text;

UPDATE approval_requests a SET subject_key = 'risk:' || ra.risk_id
FROM risk_acceptances ra WHERE ra.request_id = a.id;
UPDATE approval_requests a SET subject_key = 'policy:' || pv.policy_id
FROM policy_publications pp JOIN policy_versions pv ON pv.id = pp.policy_version_id
WHERE pp.request_id = a.id;
UPDATE approval_requests a SET subject_key = 'policy_exception:' || pe.policy_id || ':' || a.content_hash
FROM policy_exceptions pe WHERE pe.request_id = a.id;

CREATE UNIQUE INDEX approval_requests_one_live_per_subject ON approval_requests (subject_key)
    WHERE status IN ('draft', 'open');

-- 2. Who may not vote on a request, and why: the one statement of segregation of duties.
--    The server reads it for every request it shows or counts, and the "waiting for your
--    vote" list filters on it, so the rule is never written twice. Nobody decides on a
--    record they filed, own or manage; a declared conflict recuses. A new kind of request
--    adds its arm here beside its subject table.
CREATE VIEW request_conflicts AS
    SELECT a.id AS request_id, a.requester_id AS user_id, 'filed'::text AS conflict,
           ''::text AS detail
    FROM approval_requests a
    UNION ALL
    SELECT b.request_id, p.manager_id, 'manages_project', ''
    FROM budget_requests b JOIN projects p ON p.id = b.project_id
    UNION ALL
    SELECT ra.request_id, r.owner_id, 'owns_risk', ''
    FROM risk_acceptances ra JOIN risks r ON r.id = ra.risk_id
    UNION ALL
    SELECT ra.request_id, p.manager_id, 'manages_linked_project', ''
    FROM risk_acceptances ra
    JOIN risk_projects rp ON rp.risk_id = ra.risk_id
    JOIN projects p ON p.id = rp.project_id
    UNION ALL
    SELECT pp.request_id, pol.owner_id, 'owns_policy', ''
    FROM policy_publications pp
    JOIN policy_versions pv ON pv.id = pp.policy_version_id
    JOIN policies pol ON pol.id = pv.policy_id
    UNION ALL
    SELECT pe.request_id, pol.owner_id, 'owns_policy', ''
    FROM policy_exceptions pe JOIN policies pol ON pol.id = pe.policy_id
    UNION ALL
    SELECT r.request_id, r.member_id, 'recused', r.reason
    FROM recusals r;

GRANT SELECT ON request_conflicts TO quorum_app;
