-- Fan-out and read models: where each follower of the log has got to.

-- The relay's last published position (written after JetStream acknowledged it).
CREATE TABLE relay_checkpoints (
    name       text PRIMARY KEY,
    position   bigint NOT NULL,
    event_id   uuid,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A projection's position, written in the same transaction as its read model.
CREATE TABLE projection_checkpoints (
    name       text PRIMARY KEY,
    position   bigint NOT NULL,
    tables     jsonb  NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Events a NATS consumer has handled, so a redelivery changes nothing.
CREATE TABLE processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Events a consumer gave up on after its bounded redeliveries.
CREATE TABLE dead_letters (
    consumer  text NOT NULL,
    event_id  uuid NOT NULL,
    subject   text NOT NULL,
    error     text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
