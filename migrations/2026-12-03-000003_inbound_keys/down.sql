DROP TABLE key_create_tokens;
DROP TABLE inbound_keys;
