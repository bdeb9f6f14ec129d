-- Server-side session records: the encrypted cookie carries only a random session id,
-- whose SHA-256 is stored here so logout and password changes can end sessions.
CREATE TABLE admin_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sid_sha256 bytea NOT NULL UNIQUE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX admin_sessions_user_id ON admin_sessions (user_id);
