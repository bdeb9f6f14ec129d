ALTER TABLE key_audit_events DROP COLUMN key_prefix;
