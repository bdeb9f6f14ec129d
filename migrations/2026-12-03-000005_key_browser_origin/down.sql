ALTER TABLE inbound_keys
    DROP COLUMN browser_origin,
    DROP COLUMN browser_origin_seen_at;
