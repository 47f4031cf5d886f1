-- The append-only event log, its gap-safe global order and its integrity chains.
--
-- Writers insert into `events` concurrently; each stream's events chain their
-- hashes (the expected-version check already serialises a stream). A single
-- sealer then gives every committed event its contiguous global position in
-- `log`, reading only below the oldest running transaction
-- (pg_snapshot_xmin), and extends the global hash chain. Readers follow `log`
-- by position and can never skip an event that committed late.

CREATE TABLE events (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             uuid        NOT NULL UNIQUE,
    group_id       uuid        NOT NULL,
    stream_id      text        NOT NULL,
    stream_version integer     NOT NULL CHECK (stream_version > 0),
    type           text        NOT NULL,
    payload        bytea       NOT NULL,
    actor_id       uuid,
    actor_org      uuid,
    causation_id   uuid,
    correlation_id uuid,
    recorded_at    timestamptz NOT NULL,
    content_hash   bytea       NOT NULL,
    chain_hash     bytea       NOT NULL,
    tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_tx_order ON events (tx_id, seq);

CREATE TABLE log (
    position    bigint PRIMARY KEY,
    seq         bigint NOT NULL UNIQUE,
    tx_id       xid8   NOT NULL,
    global_hash bytea  NOT NULL
);

CREATE TABLE checkpoints (
    position    bigint PRIMARY KEY REFERENCES log (position),
    global_hash bytea       NOT NULL,
    sealed_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE idempotency (
    scope          text        NOT NULL,
    key            text        NOT NULL,
    request_hash   bytea       NOT NULL,
    stream_id      text        NOT NULL,
    stream_version integer     NOT NULL,
    event_ids      uuid[]      NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- Per-person data keys for personal fields (crypto-shredding). Deliberately
-- not append-only: erasing a person destroys their key, never an event.
CREATE TABLE data_keys (
    subject_id uuid PRIMARY KEY,
    key        bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz
);

CREATE FUNCTION copro_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'copro: % on % is refused: the event log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Statement-level, so even an UPDATE or DELETE that matches no row is refused.
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION copro_refuse_change();
CREATE TRIGGER log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON log
    FOR EACH STATEMENT EXECUTE FUNCTION copro_refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION copro_refuse_change();

-- One round trip per append: idempotency, the expected-version check, the
-- stream hash chain and the insert all happen here, in the caller's
-- transaction. A concurrent append at the same version fails on
-- events_stream_version_key, which the client reports as a conflict; resent
-- event ids fail on events_id_key, which the client answers as a duplicate
-- (cheaper than looking the ids up on every append). ``event_ids`` is only
-- returned for a repeated idempotency key: otherwise the caller knows them.
CREATE FUNCTION copro_append(
    p_group uuid, p_stream text, p_expected integer,
    p_ids uuid[], p_types text[], p_payloads bytea[], p_content_hashes bytea[],
    p_actor uuid, p_actor_org uuid, p_causation uuid, p_correlation uuid,
    p_recorded_at timestamptz,
    p_idem_scope text, p_idem_key text, p_request_hash bytea
) RETURNS TABLE (duplicate boolean, stream_version integer, event_ids uuid[])
LANGUAGE plpgsql AS $$
DECLARE
    v_head integer;
    v_hash bytea;
    v_group uuid;
    v_chain bytea[] := '{}';
    v_prior idempotency%ROWTYPE;
    i integer;
BEGIN
    IF p_idem_key IS NOT NULL THEN
        SELECT * INTO v_prior FROM idempotency WHERE scope = p_idem_scope AND key = p_idem_key;
        IF FOUND THEN
            IF v_prior.request_hash <> p_request_hash THEN
                RAISE EXCEPTION 'idempotency key % was used for a different request', p_idem_key
                    USING ERRCODE = 'CP422';
            END IF;
            RETURN QUERY SELECT true, v_prior.stream_version, v_prior.event_ids;
            RETURN;
        END IF;
    END IF;

    SELECT e.stream_version, e.chain_hash, e.group_id INTO v_head, v_hash, v_group
        FROM events e WHERE e.stream_id = p_stream ORDER BY e.stream_version DESC LIMIT 1;
    IF NOT FOUND THEN
        v_head := 0;
        v_hash := '\x'::bytea;
    ELSIF v_group <> p_group THEN
        RAISE EXCEPTION 'stream % belongs to another group', p_stream USING ERRCODE = 'CP403';
    END IF;
    IF p_expected IS NOT NULL AND v_head <> p_expected THEN
        RAISE EXCEPTION 'stream % is at version %, expected %', p_stream, v_head, p_expected
            USING ERRCODE = 'CP409';
    END IF;

    FOR i IN 1 .. cardinality(p_ids) LOOP
        v_hash := sha256(v_hash || p_content_hashes[i]);
        v_chain := v_chain || v_hash;
    END LOOP;

    INSERT INTO events (id, group_id, stream_id, stream_version, type, payload, actor_id, actor_org,
                        causation_id, correlation_id, recorded_at, content_hash, chain_hash)
    SELECT u.id, p_group, p_stream, v_head + u.n::integer, u.type, u.payload, p_actor, p_actor_org,
           p_causation, p_correlation, p_recorded_at, u.content_hash, u.chain
      FROM unnest(p_ids, p_types, p_payloads, p_content_hashes, v_chain)
           WITH ORDINALITY AS u (id, type, payload, content_hash, chain, n);

    IF p_idem_key IS NOT NULL THEN
        INSERT INTO idempotency (scope, key, request_hash, stream_id, stream_version, event_ids)
        VALUES (p_idem_scope, p_idem_key, p_request_hash, p_stream, v_head + cardinality(p_ids), p_ids);
    END IF;
    RETURN QUERY SELECT false, v_head + cardinality(p_ids), NULL::uuid[];
END;
$$;
