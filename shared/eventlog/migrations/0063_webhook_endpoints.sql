-- Partner webhook URLs, kept out of the log as the signing secrets are (0011): a URL may carry the
-- partner's own token, events reach every partner and every audit export, and nothing in the log can
-- be erased. Each is encrypted (AES-GCM, bound to its subscription) with the secrets key in COPRO_HOME;
-- WebhookRegistered (version 2) carries only its fingerprint. Shown to facilitators, used by delivery.
CREATE TABLE webhook_endpoints (
    subscription_id uuid PRIMARY KEY,
    url             bytea       NOT NULL,
    fingerprint     text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
