-- Bearer tokens, stored only as SHA-256 hashes of high-entropy secrets.
-- The operator token is written here at start-up; member tokens are a read
-- model the decisions service keeps from its token events.
CREATE TABLE access_tokens (
    token_hash      bytea PRIMARY KEY,
    kind            text  NOT NULL CHECK (kind IN ('operator', 'member')),
    group_id        uuid,
    member_id       uuid,
    organisation_id uuid,
    roles           text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
