-- Concurrent appends from one process travel together: one round trip and one commit for
-- up to 50 of them. Each runs copro_append in its own subtransaction, so one request's
-- conflict or duplicate never affects the others; its SQLSTATE is returned instead.
CREATE FUNCTION copro_append_batch(
    p_groups uuid[], p_streams text[], p_expected integer[], p_sizes integer[],
    p_ids uuid[], p_types text[], p_payloads bytea[], p_content_hashes bytea[],
    p_actors uuid[], p_actor_orgs uuid[], p_causations uuid[], p_correlations uuid[],
    p_recorded_at timestamptz[], p_idem_scopes text[], p_idem_keys text[], p_request_hashes bytea[]
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
                p_recorded_at[r], p_idem_scopes[r], p_idem_keys[r], p_request_hashes[r]);
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
