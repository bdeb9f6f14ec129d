DROP TABLE login_failures;
DROP TABLE key_audit_events;
