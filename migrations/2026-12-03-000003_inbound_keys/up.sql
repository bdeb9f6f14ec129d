CREATE TABLE inbound_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id uuid NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- "cc_" and the next 8 characters, for display; the rest of the key is never stored.
    display_prefix text NOT NULL,
    -- SHA-256 of the full key: keys are high-entropy, so a fast hash is enough
    -- and keeps the lookup a single unique-index probe.
    key_sha256 bytea NOT NULL UNIQUE CHECK (octet_length(key_sha256) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at timestamptz,
    last_used_at timestamptz
);
-- Names are unique per domain, case-insensitively; the index also settles races.
CREATE UNIQUE INDEX inbound_keys_domain_name_unique ON inbound_keys (domain_id, lower(name));

-- One-time tokens of the create form: a replayed or double-submitted form finds its
-- token taken and never creates (or reveals) a second key.
CREATE TABLE key_create_tokens (
    token uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
