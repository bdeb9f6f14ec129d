-- Who did what to which key, from where. No foreign key to the key: the trail must
-- outlive the key. The app only ever inserts and reads these rows.
CREATE TABLE key_audit_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id uuid NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    key_id uuid NOT NULL,
    key_name text NOT NULL,
    action text NOT NULL CHECK (action IN ('create', 'revoke', 'restore', 'delete', 'roll')),
    actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    -- Kept as text so the trail still names the actor after the user is removed.
    actor_email text NOT NULL,
    source_ip text,
    user_agent text,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX key_audit_events_domain_at ON key_audit_events (domain_id, at DESC);

-- Failed sign-ins, for throttling per (email, IP), per IP and per email.
CREATE TABLE login_failures (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    ip text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_at ON login_failures (email, at);
CREATE INDEX login_failures_ip_at ON login_failures (ip, at);
