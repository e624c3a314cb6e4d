-- The rating history also records the status and treatment decision at each assessment,
-- so that the register can be reconstructed as it stood at any date.
ALTER TABLE risk_assessments ADD COLUMN status text, ADD COLUMN treatment text;
UPDATE risk_assessments a SET status = r.status, treatment = r.treatment FROM risks r WHERE r.id = a.risk_id;
ALTER TABLE risk_assessments ALTER COLUMN status SET NOT NULL, ALTER COLUMN treatment SET NOT NULL;
