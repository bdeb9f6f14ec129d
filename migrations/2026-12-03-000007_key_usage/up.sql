-- Usage insight per key, written in the background (never on the request path).

-- The newest requests per key (pruned to 100 per key): a debugger for integrators.
-- No email and no payload: only what helps find a broken integration.
CREATE TABLE key_deliveries (
    id bigserial PRIMARY KEY,
    key_id uuid NOT NULL REFERENCES inbound_keys (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    event text,
    outcome text NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'rejected')),
    status smallint NOT NULL,
    error_code text,
    request_id text NOT NULL
);
CREATE INDEX key_deliveries_key_at ON key_deliveries (key_id, at DESC, id DESC);

-- Hourly counters (kept 15 days): the 14-day sparkline, "events in the last 7 days",
-- and the banner for revoked keys that are still being called.
CREATE TABLE key_hourly_usage (
    key_id uuid NOT NULL REFERENCES inbound_keys (id) ON DELETE CASCADE,
    hour timestamptz NOT NULL,
    accepted integer NOT NULL DEFAULT 0,
    rejected integer NOT NULL DEFAULT 0,
    revoked_calls integer NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, hour)
);

-- Where calls come from: the last-used IP and User-Agent, and the last distinct IPs.
CREATE TABLE key_sources (
    key_id uuid NOT NULL REFERENCES inbound_keys (id) ON DELETE CASCADE,
    ip text NOT NULL,
    user_agent text,
    last_seen_at timestamptz NOT NULL,
    PRIMARY KEY (key_id, ip)
);
CREATE INDEX key_sources_key_seen ON key_sources (key_id, last_seen_at DESC);

-- The request that delivered each event, so a delivery can be traced in the logs.
ALTER TABLE conversion_events ADD COLUMN request_id text;
