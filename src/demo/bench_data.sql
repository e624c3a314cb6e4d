-- The steps of `quorum bench-data`: a large organisation generated in bulk on top of the
-- demo one. Each step is one set-based statement group, run in its own transaction as the
-- database owner; names in braces are counts computed from the scale (integers only)
-- and `$1`, where used, is the shared password hash. Steps are separated by lines
-- starting with `-- step:`, whose text is the label the progress bar shows.
--
-- Values are spread deterministically from each row's number (no random()), so two runs
-- at the same scale generate the same organisation.

-- step: people
INSERT INTO users (email, display_name, password_hash)
SELECT format('person-%s@bench.example', lpad(n::text, 5, '0')),
       (ARRAY['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken',
              'Margaret', 'Tim', 'Radia', 'John', 'Hedy'])[1 + n % 13] || ' ' ||
       (ARRAY['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen',
              'Thompson', 'Hamilton', 'Berners-Lee', 'Perlman'])[1 + (n / 13) % 11] || ' ' || n,
       $1
FROM generate_series(1, {users}) n;
INSERT INTO user_roles (user_id, role)
SELECT id, CASE WHEN rn <= 12 THEN 'board' WHEN rn <= 20 THEN 'auditor' ELSE 'it_manager' END
FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM users
      WHERE email LIKE '%@bench.example') people;

-- step: objectives and projects
INSERT INTO objectives (reference, title, description)
SELECT 'OBJ-' || lpad(x::text, greatest(2, length(x::text)), '0'),
       (ARRAY['Modernise', 'Secure', 'Simplify', 'Automate', 'Consolidate'])[1 + n % 5] || ' ' ||
       (ARRAY['the customer platforms', 'identity and access', 'the data estate',
              'finance systems', 'the network', 'workplace IT'])[1 + n % 6] || ' (' || n || ')',
       'Generated objective.'
FROM (SELECT n, nextval('objective_reference_seq') AS x FROM generate_series(1, 20) n) g;
WITH managers AS (
    SELECT array_agg(u.id ORDER BY u.id) AS ids FROM users u
    JOIN user_roles r ON r.user_id = u.id AND r.role = 'it_manager'),
goals AS (SELECT array_agg(id ORDER BY id) AS ids FROM objectives)
INSERT INTO projects (reference, name, description, sponsor, manager_id, objective_id, phase,
                      start_date, planned_end_date, reporting_cadence, approved_budget)
SELECT 'PRJ-' || lpad(x::text, greatest(4, length(x::text)), '0'),
       (ARRAY['Migrate', 'Replace', 'Upgrade', 'Roll out', 'Retire', 'Harden'])[1 + n % 6] || ' ' ||
       (ARRAY['the ERP', 'the CRM', 'the data centre', 'single sign-on', 'the intranet',
              'backups', 'the service desk', 'laptops', 'the payroll system'])[1 + (n / 6) % 9] ||
       ' ' || n,
       'Generated project for the load benchmark.',
       (ARRAY['CFO', 'COO', 'CIO', 'Head of Sales'])[1 + n % 4],
       managers.ids[1 + n % cardinality(managers.ids)],
       goals.ids[1 + n % cardinality(goals.ids)],
       CASE WHEN n % 20 < 2 THEN 'proposed' WHEN n % 20 < 5 THEN 'approved'
            WHEN n % 20 < 16 THEN 'in_delivery' WHEN n % 20 < 19 THEN 'closed'
            ELSE 'cancelled' END,
       CASE WHEN n % 5 = 0 THEN date_trunc('week', current_date)::date - 7 * 50
            ELSE (date_trunc('month', current_date) - interval '50 months')::date END,
       current_date + 100 + n % 700,
       CASE WHEN n % 5 = 0 THEN 'weekly' ELSE 'monthly' END,
       (50000 + n % 400 * 2500) * 100
FROM (SELECT n, nextval('project_reference_seq') AS x FROM generate_series(1, {projects}) n) g,
     managers, goals;

-- step: status reports
INSERT INTO status_reports (project_id, period_start, period_end, status, overall_rag,
                            schedule_rag, budget_rag, scope_rag, rag_explanation,
                            percent_complete, spend_to_date, forecast_at_completion,
                            highlights, decisions_needed, author_id, submitted_at)
SELECT p.id, period.start_on, period.end_on, 'submitted',
       rag.overall, rag.overall, rag.budget, 'green',
       CASE WHEN rag.overall = 'green' AND rag.budget = 'green' THEN ''
            ELSE 'Supplier delay on the second release; recovery plan agreed.' END,
       least(100, (51 - k) * 2), p.approved_budget / 60 * (51 - k), p.approved_budget,
       'Milestone ' || (51 - k) || ' met.',
       CASE WHEN k = 1 AND p.id % 9 = 0 THEN 'Approve the change of supplier.' ELSE '' END,
       p.manager_id, period.end_on + interval '2 days'
FROM projects p
CROSS JOIN generate_series(1, {reports_per_project}) k
CROSS JOIN LATERAL (
    SELECT CASE p.reporting_cadence
               WHEN 'weekly' THEN date_trunc('week', current_date)::date - 7 * k
               ELSE (date_trunc('month', current_date) - make_interval(months => k))::date
           END AS start_on) s
CROSS JOIN LATERAL (
    SELECT s.start_on,
           CASE p.reporting_cadence WHEN 'weekly' THEN s.start_on + 6
                ELSE (s.start_on + interval '1 month' - interval '1 day')::date END AS end_on
) period
CROSS JOIN LATERAL (
    SELECT (ARRAY['green', 'green', 'green', 'amber', 'red'])[1 + (p.id + k) % 5] AS overall,
           (ARRAY['green', 'amber', 'green'])[1 + (p.id + k) % 3] AS budget) rag
WHERE p.description = 'Generated project for the load benchmark.' AND p.phase <> 'proposed';
UPDATE projects p SET last_report_id = latest.id
FROM (SELECT DISTINCT ON (project_id) project_id, id FROM status_reports
      ORDER BY project_id, period_start DESC, id DESC) latest
WHERE latest.project_id = p.id AND p.last_report_id IS NULL;

-- step: risks
WITH managers AS (
    SELECT array_agg(u.id ORDER BY u.id) AS ids FROM users u
    JOIN user_roles r ON r.user_id = u.id AND r.role = 'it_manager'),
categories AS (SELECT array_agg(id ORDER BY position) AS ids FROM risk_categories)
INSERT INTO risks (reference, title, description, category_id, owner_id, likelihood, impact,
                   controls, residual_likelihood, residual_impact, treatment, treatment_plan,
                   next_review_date, status)
SELECT 'RSK-' || lpad(x::text, greatest(4, length(x::text)), '0'),
       (ARRAY['Outage of', 'Breach of', 'Loss of', 'Delay of', 'Vendor failure at',
              'Unpatched'])[1 + n % 6] || ' ' ||
       (ARRAY['the payment gateway', 'customer records', 'the data centre', 'the ERP upgrade',
              'the e-mail service', 'remote access', 'the HR system'])[1 + (n / 6) % 7] || ' ' || n,
       'Generated risk: what could happen, why, and to whom.',
       categories.ids[1 + n % cardinality(categories.ids)],
       managers.ids[1 + (n * 7) % cardinality(managers.ids)],
       1 + n % 5, 1 + (n / 5) % 5,
       'Monitoring and a tested runbook.',
       1 + (n % 5) / 2, 1 + ((n / 5) % 5 + n % 2) / 2,
       CASE WHEN n % 20 = 3 THEN 'accept' WHEN n % 20 = 4 THEN 'transfer' ELSE 'mitigate' END,
       'Generated treatment plan.',
       current_date - 60 + n % 420,
       CASE WHEN n % 10 = 9 THEN 'closed' WHEN n % 20 = 3 THEN 'accepted'
            WHEN n % 3 = 0 THEN 'treating' ELSE 'open' END
FROM (SELECT n, nextval('risk_reference_seq') AS x FROM generate_series(1, {risks}) n) g,
     managers, categories;
INSERT INTO risk_assessments (risk_id, likelihood, impact, residual_likelihood, residual_impact,
                              status, treatment, assessed_by, assessed_at)
SELECT r.id, r.likelihood, r.impact,
       least(5, r.residual_likelihood + (r.id % 2)::smallint), r.residual_impact, 'open',
       'mitigate', r.owner_id, now() - interval '400 days' + (r.id % 100) * interval '1 day'
FROM risks r WHERE r.description = 'Generated risk: what could happen, why, and to whom.'
UNION ALL
SELECT r.id, r.likelihood, r.impact, r.residual_likelihood, r.residual_impact, r.status,
       r.treatment, r.owner_id, now() - (r.id % 200) * interval '1 day'
FROM risks r WHERE r.description = 'Generated risk: what could happen, why, and to whom.';
WITH generated AS (SELECT array_agg(id ORDER BY id) AS ids FROM projects
                   WHERE description = 'Generated project for the load benchmark.')
INSERT INTO risk_projects (risk_id, project_id)
SELECT r.id, generated.ids[1 + r.id % cardinality(generated.ids)]
FROM risks r, generated
WHERE r.description = 'Generated risk: what could happen, why, and to whom.';

-- The current quarter's movements, as the server writes them with each rating.
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
WHERE r.description = 'Generated risk: what could happen, why, and to whom.'
  AND EXISTS (SELECT FROM risk_assessments a
              WHERE a.risk_id = r.id AND a.assessed_at >= quarter.moment)
ON CONFLICT (quarter_end, risk_id) DO NOTHING;

-- step: policies and versions
WITH managers AS (
    SELECT array_agg(u.id ORDER BY u.id) AS ids FROM users u
    JOIN user_roles r ON r.user_id = u.id AND r.role = 'it_manager')
INSERT INTO policies (reference, title, owner_id, category, review_interval_months,
                      next_review_on, last_reviewed_on)
SELECT 'POL-' || lpad(x::text, greatest(4, length(x::text)), '0'),
       (ARRAY['Access control', 'Acceptable use', 'Backup', 'Change management',
              'Data retention', 'Incident response', 'Supplier security'])[1 + n % 7] ||
       ' policy ' || n,
       managers.ids[1 + (n * 3) % cardinality(managers.ids)],
       (ARRAY['information_security', 'acceptable_use', 'access', 'data', 'continuity',
              'change', 'vendor', 'operations', 'governance'])[1 + n % 9],
       12, current_date - 30 + n % 400, current_date - 335 + n % 400
FROM (SELECT n, nextval('policy_reference_seq') AS x FROM generate_series(1, {policies}) n) g,
     managers;
INSERT INTO policy_versions (policy_id, number, title, scope, body, change_note, content_hash,
                             status, created_by, created_at, published_by, published_at)
SELECT p.id, v, p.title, 'All staff and contractors.',
       repeat('## Purpose' || chr(10) || 'Why this policy exists and what it protects. ' ||
              chr(10) || '## Rules' || chr(10) || '- Rule ' || v || ' of ' || p.reference ||
              ' applies to every system.' || chr(10), 8),
       'Annual review ' || v,
       encode(sha256(convert_to(p.reference || '/' || v, 'UTF8')), 'hex'),
       CASE WHEN v = {versions_per_policy} THEN 'published' ELSE 'superseded' END,
       p.owner_id, now() - ({versions_per_policy} - v + 1) * interval '300 days',
       p.owner_id, now() - ({versions_per_policy} - v + 1) * interval '300 days' + interval '20 days'
FROM policies p CROSS JOIN generate_series(1, {versions_per_policy}) v
WHERE p.title LIKE '% policy %' AND p.published_version_id IS NULL
  AND NOT EXISTS (SELECT FROM policy_versions pv WHERE pv.policy_id = p.id);
UPDATE policies p SET published_version_id = v.id
FROM policy_versions v
WHERE v.policy_id = p.id AND v.status = 'published' AND p.published_version_id IS NULL;

-- step: requests to the board
CREATE TEMP TABLE bench_requests ON COMMIT DROP AS
SELECT n,
       CASE WHEN n % 20 < 14 THEN 'budget' WHEN n % 20 < 17 THEN 'risk_acceptance'
            WHEN n % 20 < 19 THEN 'policy_publication' ELSE 'policy_exception' END AS kind,
       -- Only budget requests stay live (draft or open): the others' subjects may each
       -- have one live request only.
       CASE WHEN n % 50 = 0 AND n % 20 < 14 THEN 'open'
            WHEN n % 50 = 1 AND n % 20 < 14 THEN 'draft'
            WHEN n % 50 = 2 THEN 'withdrawn'
            WHEN n % 7 = 0 THEN 'rejected' ELSE 'approved' END AS status,
       now() - ({requests} - n) * interval '2 hours' - interval '10 days' AS created_at
FROM generate_series(1, {requests}) n;
ALTER TABLE bench_requests ADD COLUMN year integer, ADD COLUMN number bigint;
UPDATE bench_requests b SET year = y.year, number = y.number
FROM (SELECT n, extract(year FROM created_at)::integer AS year,
             row_number() OVER (PARTITION BY extract(year FROM created_at) ORDER BY n)
             + coalesce((SELECT last FROM reference_counters c
                         WHERE c.prefix = 'REQ' AND c.year = extract(year FROM created_at)), 0)
             AS number
      FROM bench_requests) y
WHERE y.n = b.n;
WITH managers AS (
    SELECT array_agg(u.id ORDER BY u.id) AS ids FROM users u
    JOIN user_roles r ON r.user_id = u.id AND r.role = 'it_manager'),
generated AS (SELECT array_agg(id ORDER BY id) AS ids FROM projects
              WHERE description = 'Generated project for the load benchmark.')
INSERT INTO approval_requests (reference, kind, title, summary, requester_id, project_id,
                               due_date, status, quorum_percent, majority_percent,
                               content_hash, opened_at, closed_at, created_at, updated_at)
SELECT format('REQ-%s-%s', b.year, lpad(b.number::text, greatest(4, length(b.number::text)), '0')),
       b.kind,
       CASE b.kind WHEN 'budget' THEN 'Additional budget for the next phase'
                   WHEN 'risk_acceptance' THEN 'Accept a risk above appetite'
                   WHEN 'policy_publication' THEN 'Publish the reviewed policy'
                   ELSE 'Exception to a policy' END || ' (' || b.n || ')',
       'Generated request for the load benchmark.',
       managers.ids[1 + b.n % cardinality(managers.ids)],
       CASE WHEN b.kind = 'budget' THEN generated.ids[1 + b.n % cardinality(generated.ids)] END,
       (b.created_at + interval '14 days')::date,
       b.status, 50, 50, encode(sha256(convert_to('request ' || b.n, 'UTF8')), 'hex'),
       CASE WHEN b.status <> 'draft' THEN b.created_at + interval '1 hour' END,
       CASE WHEN b.status NOT IN ('draft', 'open') THEN b.created_at + interval '6 days' END,
       b.created_at, b.created_at
FROM bench_requests b, managers, generated;
INSERT INTO reference_counters (prefix, year, last)
SELECT 'REQ', year, max(number) FROM bench_requests GROUP BY year
ON CONFLICT (prefix, year) DO UPDATE SET last = greatest(reference_counters.last, EXCLUDED.last);
-- Their subjects.
INSERT INTO budget_requests (request_id, project_id, amount, spend_type, fiscal_year, benefits)
SELECT a.id, a.project_id, (10000 + a.id % 90 * 1000) * 100,
       CASE WHEN a.id % 3 = 0 THEN 'opex' ELSE 'capex' END,
       extract(year FROM a.created_at)::integer, 'Generated benefits.'
FROM approval_requests a
WHERE a.kind = 'budget' AND a.summary = 'Generated request for the load benchmark.';
WITH generated AS (SELECT array_agg(id ORDER BY id) AS ids FROM risks
                   WHERE description = 'Generated risk: what could happen, why, and to whom.')
INSERT INTO risk_acceptances (request_id, risk_id, residual_likelihood, residual_impact,
                              appetite, justification, expires_on)
SELECT a.id, r.id, r.residual_likelihood, r.residual_impact, 6, 'Generated justification.',
       (a.created_at + interval '1 year')::date
FROM approval_requests a, generated
JOIN risks r ON true
WHERE a.kind = 'risk_acceptance' AND a.summary = 'Generated request for the load benchmark.'
  AND r.id = generated.ids[1 + a.id % cardinality(generated.ids)];
WITH generated AS (SELECT array_agg(id ORDER BY id) AS ids FROM policies
                   WHERE title LIKE '% policy %')
INSERT INTO policy_publications (request_id, policy_version_id)
SELECT a.id, p.published_version_id
FROM approval_requests a, generated
JOIN policies p ON true
WHERE a.kind = 'policy_publication' AND a.summary = 'Generated request for the load benchmark.'
  AND p.id = generated.ids[1 + a.id % cardinality(generated.ids)];
WITH generated AS (SELECT array_agg(id ORDER BY id) AS ids FROM policies
                   WHERE title LIKE '% policy %')
INSERT INTO policy_exceptions (request_id, policy_id, scope, justification, starts_on, expires_on)
SELECT a.id, generated.ids[1 + a.id % cardinality(generated.ids)], 'One legacy system.',
       'Generated justification.', a.created_at::date, a.created_at::date + 180
FROM approval_requests a, generated
WHERE a.kind = 'policy_exception' AND a.summary = 'Generated request for the load benchmark.';
UPDATE approval_requests a SET subject_key = 'risk:' || ra.risk_id
FROM risk_acceptances ra WHERE ra.request_id = a.id AND a.subject_key IS NULL;
UPDATE approval_requests a SET subject_key = 'policy:' || pv.policy_id
FROM policy_publications pp JOIN policy_versions pv ON pv.id = pp.policy_version_id
WHERE pp.request_id = a.id AND a.subject_key IS NULL;
UPDATE approval_requests a SET subject_key = 'policy_exception:' || pe.policy_id || ':' || a.content_hash
FROM policy_exceptions pe WHERE pe.request_id = a.id AND a.subject_key IS NULL;

-- step: votes
WITH board AS (
    SELECT array_agg(u.id ORDER BY u.id) AS ids FROM users u
    JOIN user_roles r ON r.user_id = u.id AND r.role = 'board'
    WHERE u.email LIKE '%@bench.example')
INSERT INTO votes (request_id, voter_id, content_version, choice, comment, cast_at)
SELECT a.id, board.ids[1 + (a.id + k) % cardinality(board.ids)], 1,
       CASE WHEN a.status = 'rejected' AND k % 4 <> 0 THEN 'reject'
            WHEN k % 9 = 0 THEN 'abstain' WHEN k % 7 = 0 THEN 'reject' ELSE 'approve' END,
       CASE WHEN k = 1 THEN 'Reviewed the figures.' ELSE '' END,
       a.opened_at + k * interval '3 hours'
FROM approval_requests a, board
CROSS JOIN generate_series(1, 8) k
WHERE a.summary = 'Generated request for the load benchmark.'
  AND a.status IN ('open', 'approved', 'rejected')
  -- 7 or 8 votes on a closed request, 3 so far on an open one.
  AND k <= CASE WHEN a.status = 'open' THEN 3 ELSE 7 + a.id % 2 END;

-- step: decision records
CREATE TEMP TABLE bench_decisions ON COMMIT DROP AS
SELECT a.id AS request_id, extract(year FROM a.closed_at)::integer AS year,
       row_number() OVER (PARTITION BY extract(year FROM a.closed_at) ORDER BY a.closed_at, a.id)
       + coalesce((SELECT last FROM reference_counters c
                   WHERE c.prefix = 'DEC' AND c.year = extract(year FROM a.closed_at)), 0)
       AS number
FROM approval_requests a
WHERE a.summary = 'Generated request for the load benchmark.'
  AND a.status IN ('approved', 'rejected');
INSERT INTO decisions (reference, kind, request_id, project_id, question, content_version,
                       content_hash, outcome, tally, closed_by, decided_at)
SELECT format('DEC-%s-%s', d.year, lpad(d.number::text, greatest(4, length(d.number::text)), '0')),
       'resolution', a.id, a.project_id, a.title, 1, a.content_hash, a.status,
       jsonb_build_object(
           'rule', jsonb_build_object('quorum_percent', 50, 'majority_percent', 50),
           'eligible', 12, 'quorum_needed', 6,
           'approve', count(*) FILTER (WHERE v.choice = 'approve'),
           'reject', count(*) FILTER (WHERE v.choice = 'reject'),
           'abstain', count(*) FILTER (WHERE v.choice = 'abstain'),
           'votes', jsonb_agg(jsonb_build_object('voter', u.display_name, 'choice', v.choice,
                                                 'comment', v.comment, 'content_version', 1)),
           'recusals', '[]'::jsonb, 'set_aside', 0),
       (SELECT min(id) FROM users WHERE is_chair), a.closed_at
FROM bench_decisions d
JOIN approval_requests a ON a.id = d.request_id
JOIN votes v ON v.request_id = a.id
JOIN users u ON u.id = v.voter_id
GROUP BY d.year, d.number, a.id;
INSERT INTO reference_counters (prefix, year, last)
SELECT 'DEC', year, max(number) FROM bench_decisions GROUP BY year
ON CONFLICT (prefix, year) DO UPDATE SET last = greatest(reference_counters.last, EXCLUDED.last);

-- step: controls and evidence
WITH managers AS (
    SELECT array_agg(u.id ORDER BY u.id) AS ids FROM users u
    JOIN user_roles r ON r.user_id = u.id AND r.role = 'it_manager')
INSERT INTO controls (reference, title, description, owner_id, frequency, implementation)
SELECT 'CTL-' || lpad(x::text, greatest(4, length(x::text)), '0'),
       (ARRAY['Quarterly access review of', 'Backup restore test of', 'Patch compliance of',
              'Change approval for', 'Log monitoring of'])[1 + n % 5] || ' system ' || n,
       'Generated control.',
       managers.ids[1 + (n * 5) % cardinality(managers.ids)],
       (ARRAY['continuous', 'daily', 'weekly', 'monthly', 'quarterly', 'semiannual',
              'annual'])[1 + n % 7],
       (ARRAY['implemented', 'implemented', 'partial', 'not_started'])[1 + n % 4]
FROM (SELECT n, nextval('control_reference_seq') AS x FROM generate_series(1, {controls}) n) g,
     managers;
INSERT INTO evidence (control_id, title, original_name, content_type, size_bytes, sha256,
                      about_date, valid_until, uploaded_by, uploaded_at, stored_in)
SELECT c.id, 'Evidence ' || k || ' for ' || c.reference, 'evidence-' || k || '.pdf',
       'application/pdf', 20000 + (c.id * k) % 500000,
       encode(sha256(convert_to(c.reference || '/' || k, 'UTF8')), 'hex'),
       current_date - k * 30, current_date - k * 30 + 365, c.owner_id,
       now() - k * interval '30 days', 'directory'
FROM controls c CROSS JOIN generate_series(1, {evidence_per_control}) k
WHERE c.description = 'Generated control.';
