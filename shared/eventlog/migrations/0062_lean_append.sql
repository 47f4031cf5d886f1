-- copro_append as in 0060 (the guard, the idempotency answer first), leaner where it costs nothing:
-- one result row through OUT parameters rather than a set (so it is dropped and made again: its result
-- type changes), the chain array filled by index, and a one-event append (most of them) inserted from
-- its values, without unnest. copro_append_batch (0060) calls it by name and keeps working unchanged.
DROP FUNCTION copro_append(uuid, text, integer, uuid[], text[], bytea[], bytea[], uuid, uuid, uuid, uuid, timestamptz,
                           text, text, bytea, text, integer);

CREATE FUNCTION copro_append(
    p_group uuid, p_stream text, p_expected integer,
    p_ids uuid[], p_types text[], p_payloads bytea[], p_content_hashes bytea[],
    p_actor uuid, p_actor_org uuid, p_causation uuid, p_correlation uuid,
    p_recorded_at timestamptz,
    p_idem_scope text, p_idem_key text, p_request_hash bytea,
    p_guard_stream text DEFAULT NULL, p_guard_version integer DEFAULT NULL,
    OUT duplicate boolean, OUT stream_version integer, OUT event_ids uuid[]
) RETURNS record
LANGUAGE plpgsql AS $$
DECLARE
    v_head integer;
    v_hash bytea;
    v_group uuid;
    v_guard integer;
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
            duplicate := true;
            stream_version := v_prior.stream_version;
            event_ids := v_prior.event_ids;
            RETURN;
        END IF;
    END IF;

    IF p_guard_stream IS NOT NULL THEN
        SELECT coalesce(max(e.stream_version), 0) INTO v_guard FROM events e WHERE e.stream_id = p_guard_stream;
        IF v_guard <> coalesce(p_guard_version, 0) THEN
            RAISE EXCEPTION 'stream % is at version %, the append is guarded by version %',
                p_guard_stream, v_guard, coalesce(p_guard_version, 0) USING ERRCODE = 'CP412';
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

    IF cardinality(p_ids) = 1 THEN
        INSERT INTO events (id, group_id, stream_id, stream_version, type, payload, actor_id, actor_org,
                            causation_id, correlation_id, recorded_at, content_hash, chain_hash)
        VALUES (p_ids[1], p_group, p_stream, v_head + 1, p_types[1], p_payloads[1], p_actor, p_actor_org,
                p_causation, p_correlation, p_recorded_at, p_content_hashes[1], sha256(v_hash || p_content_hashes[1]));
    ELSE
        FOR i IN 1 .. cardinality(p_ids) LOOP
            v_hash := sha256(v_hash || p_content_hashes[i]);
            v_chain[i] := v_hash;
        END LOOP;
        INSERT INTO events (id, group_id, stream_id, stream_version, type, payload, actor_id, actor_org,
                            causation_id, correlation_id, recorded_at, content_hash, chain_hash)
        SELECT u.id, p_group, p_stream, v_head + u.n::integer, u.type, u.payload, p_actor, p_actor_org,
               p_causation, p_correlation, p_recorded_at, u.content_hash, u.chain
          FROM unnest(p_ids, p_types, p_payloads, p_content_hashes, v_chain)
               WITH ORDINALITY AS u (id, type, payload, content_hash, chain, n);
    END IF;

    IF p_idem_key IS NOT NULL THEN
        INSERT INTO idempotency (scope, key, request_hash, stream_id, stream_version, event_ids)
        VALUES (p_idem_scope, p_idem_key, p_request_hash, p_stream, v_head + cardinality(p_ids), p_ids);
    END IF;
    duplicate := false;
    stream_version := v_head + cardinality(p_ids);
    event_ids := NULL;
END;
$$;
