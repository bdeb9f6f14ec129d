-- The key's masked prefix in each audit record, so two keys that share a name (an old
-- and a new "HubSpot") can be told apart in the trail, also after deletion.
ALTER TABLE key_audit_events ADD COLUMN key_prefix text;
UPDATE key_audit_events a SET key_prefix = k.display_prefix FROM inbound_keys k WHERE k.id = a.key_id;
