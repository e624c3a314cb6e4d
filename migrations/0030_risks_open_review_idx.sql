-- The board's overdue reviews, highest residual first: the review date is a key column so
-- the scan tests it in the index, reading only the risks it lists (not every open risk
-- ranked above them).
CREATE INDEX risks_open_review_idx ON risks
    (risk_residual_order(residual_likelihood, residual_impact), reference_order(reference),
     next_review_date)
    WHERE status <> 'closed';
