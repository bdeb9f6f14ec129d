-- The browser-exposure guard flags a key that was sent from a web page, so the tab can
-- warn that the key may be public and should be rolled.
ALTER TABLE inbound_keys
    ADD COLUMN browser_origin text,
    ADD COLUMN browser_origin_seen_at timestamptz;
