-- Webhook delivery: each partner webhook's cursor in the log, its delivery log and its dead letters.
-- Until now the publishing service created these at start-up; IF NOT EXISTS keeps this migration
-- safe on databases that already have them.

-- Where a webhook has got to (a global position), and when the event there is next tried.
CREATE TABLE IF NOT EXISTS webhook_cursors (
    subscription_id uuid PRIMARY KEY,
    group_id        uuid NOT NULL,
    position        bigint NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    failing_since   timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);

-- Every attempt to deliver an event to a webhook, with the endpoint's answer.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    subscription_id uuid NOT NULL,
    event_id        uuid NOT NULL,
    position        bigint NOT NULL,
    attempt         integer NOT NULL,
    status          integer,
    error           text,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_subscription ON webhook_deliveries (subscription_id, at);

-- Events a webhook gave up on (they can be redriven).
CREATE TABLE IF NOT EXISTS webhook_dead_letters (
    subscription_id uuid NOT NULL,
    event_id        uuid NOT NULL,
    position        bigint NOT NULL,
    error           text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    redriven_at     timestamptz,
    PRIMARY KEY (subscription_id, event_id)
);
