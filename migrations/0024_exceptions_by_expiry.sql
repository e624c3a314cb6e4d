-- The policy register lists the exceptions in force or recently expired: by expiry.
CREATE INDEX policy_exceptions_expiry_idx ON policy_exceptions (expires_on);
