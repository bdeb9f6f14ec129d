-- Addresses each email has signed in from: the per-email sign-in limit does not apply
-- from these, so a distributed guess cannot lock the real user out.
CREATE TABLE sign_in_sources (
    email text NOT NULL,
    ip text NOT NULL,
    last_success_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (email, ip)
);
