-- Webhook signing secrets, kept out of the log: each encrypted (AES-GCM, bound to its
-- subscription) with the secrets key in COPRO_HOME, so neither an event nor a copy of the
-- database gives it away. Events carry only the fingerprint.
CREATE TABLE webhook_secrets (
    subscription_id uuid PRIMARY KEY,
    secret          bytea       NOT NULL,
    fingerprint     text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
