-- A contract with the downstream services that read conversions: keep the column names.
CREATE TABLE conversion_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id uuid NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    -- Deleting a key never deletes what it delivered.
    inbound_key_id uuid REFERENCES inbound_keys (id) ON DELETE SET NULL,
    key_name text NOT NULL,
    email text NOT NULL,
    email_sha256 text NOT NULL,
    event text NOT NULL,
    value numeric,
    currency text,
    event_id text,
    click_id text,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    properties jsonb,
    -- NULLs are distinct, so events without an id never collide.
    UNIQUE (domain_id, event_id)
);
CREATE INDEX conversion_events_key_received ON conversion_events (inbound_key_id, received_at);
