-- The policy register's "next review first" order, as an index: the board's home reads
-- the soonest overdue reviews without sorting every overdue one.

-- A date as sortable text (no date: last). `to_char` is only STABLE because some of its
-- patterns follow the locale; this pattern does not, so the function is IMMUTABLE.
CREATE FUNCTION review_order(day date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(to_char(day, 'YYYY-MM-DD'), '9999-12-31') $$;

CREATE INDEX policies_review_order_idx ON policies (review_order(next_review_on), reference_order(reference))
    WHERE retired_at IS NULL AND published_version_id IS NOT NULL;
