-- An append may be guarded by another stream's version: it is refused (CP412: the state a request decided on is stale) when
-- stream p_guard_stream is not at p_guard_version (0: it does not exist). The ballot path uses it
-- to record a ballot only while the proposal it counts on is still as the ballot's decision read
-- it. The check runs inside the append's own call, so it costs no extra round trip. Both functions
-- are replaced by versions with the two trailing parameters (defaulting to no guard, so a caller
-- of the old signature still works).
DROP FUNCTION copro_append_batch(uuid[], text[], integer[], integer[], uuid[], text[], bytea[], bytea[], uuid[], uuid[],
                                 uuid[], uuid[], timestamptz[], text[], text[], bytea[]);
DROP FUNCTION copro_append(uuid, text, integer, uuid[], text[], bytea[], bytea[], uuid, uuid, uuid, uuid, timestamptz,
                           text, text, bytea);

-- As in 0001, plus the guard; the idempotency answer comes first (a repeat answers the first
-- result whatever the guard stream did since).
CREATE FUNCTION copro_append(
    p_group uuid, p_stream text, p_expected integer,
    p_ids uuid[], p_types text[], p_payloads bytea[], p_content_hashes bytea[],
    p_actor uuid, p_actor_org uuid, p_causation uuid, p_correlation uuid,
    p_recorded_at timestamptz,
    p_idem_scope text, p_idem_key text, p_request_hash bytea,
    p_guard_stream text DEFAULT NULL, p_guard_version integer DEFAULT NULL
) RETURNS TABLE (duplicate boolean, stream_version integer, event_ids uuid[])
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
            RETURN QUERY SELECT true, v_prior.stream_version, v_prior.event_ids;
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

    IF p_idem_key IS NOT NULL THEN
        INSERT INTO idempotency (scope, key, request_hash, stream_id, stream_version, event_ids)
        VALUES (p_idem_scope, p_idem_key, p_request_hash, p_stream, v_head + cardinality(p_ids), p_ids);
    END IF;
    RETURN QUERY SELECT false, v_head + cardinality(p_ids), NULL::uuid[];
END;
$$;

-- As in 0005, with each request's guard.
CREATE FUNCTION copro_append_batch(
    p_groups uuid[], p_streams text[], p_expected integer[], p_sizes integer[],
    p_ids uuid[], p_types text[], p_payloads bytea[], p_content_hashes bytea[],
    p_actors uuid[], p_actor_orgs uuid[], p_causations uuid[], p_correlations uuid[],
    p_recorded_at timestamptz[], p_idem_scopes text[], p_idem_keys text[], p_request_hashes bytea[],
    p_guard_streams text[] DEFAULT NULL, p_guard_versions integer[] DEFAULT NULL
) RETURNS TABLE (request integer, duplicate boolean, stream_version integer, event_ids uuid[],
                 error_code text, error_message text)
LANGUAGE plpgsql AS $$
DECLARE
    r integer;
    f integer := 1;
    l integer;
    v record;
BEGIN
    FOR r IN 1 .. cardinality(p_streams) LOOP
        l := f + p_sizes[r] - 1;
        request := r;
        BEGIN
            SELECT * INTO v FROM copro_append(
                p_groups[r], p_streams[r], p_expected[r], p_ids[f:l], p_types[f:l], p_payloads[f:l],
                p_content_hashes[f:l], p_actors[r], p_actor_orgs[r], p_causations[r], p_correlations[r],
                p_recorded_at[r], p_idem_scopes[r], p_idem_keys[r], p_request_hashes[r],
                p_guard_streams[r], p_guard_versions[r]);
            duplicate := v.duplicate;
            stream_version := v.stream_version;
            event_ids := v.event_ids;
            error_code := NULL;
            error_message := NULL;
        EXCEPTION WHEN OTHERS THEN
            duplicate := NULL;
            stream_version := NULL;
            event_ids := NULL;
            error_code := SQLSTATE;
            error_message := SQLERRM;
        END;
        RETURN NEXT;
        f := l + 1;
    END LOOP;
END;
$$;
