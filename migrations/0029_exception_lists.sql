-- Each watched list of policy exceptions pages by (expiry, request): the index carries both.
DROP INDEX policy_exceptions_expiry_idx;
CREATE INDEX policy_exceptions_expiry_idx ON policy_exceptions (expires_on, request_id);
