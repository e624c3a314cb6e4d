-- Evidence files may be kept in a configured directory instead of the database: the row
-- then holds no content, and the file is named by its SHA-256 in that directory.
ALTER TABLE evidence ALTER COLUMN content DROP NOT NULL;
ALTER TABLE evidence
    ADD COLUMN stored_in text NOT NULL DEFAULT 'database'
        CHECK (stored_in IN ('database', 'directory')),
    ADD CONSTRAINT evidence_content_where_stored
        CHECK ((stored_in = 'database') = (content IS NOT NULL));
