-- Per-seal keys (one per proposal whose ballots are sealed: shared/eventlog/sealing.py).
-- A key never enters an event until the event that releases it; `released_by` lists the ids
-- of releasing events the store prepared, and a key counts as released once one of those
-- events is in the log (a prepared append that lost a race never was).
CREATE TABLE seal_keys (
    seal_id     uuid PRIMARY KEY,
    key         bytea       NOT NULL,
    released_by uuid[]      NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
