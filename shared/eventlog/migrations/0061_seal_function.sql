-- The sealer's step as one function: read what is safely committed past the cursor (events of
-- transactions older than the oldest running one, in (transaction, insert) order), extend the global
-- hash chain over their stream-chain hashes (sha256(previous || link), as integrity.chain), append them
-- to `log` with contiguous positions, record a checkpoint every p_checkpoint_every positions and notify
-- readers, all in one round trip and one transaction. Done in Python, the step cost as much CPU per
-- event as the append itself (the rows there and back, a hash and four array elements per event);
-- here it is a loop over rows PostgreSQL already holds. The chain's head and the cursor stay the
-- caller's (the elected sealer keeps them). When there is nothing to seal it answers whether
-- something committed is held back (the sealer then retries soon rather than waiting for a writer).
CREATE FUNCTION copro_seal(
    p_position bigint, p_hash bytea, p_tx xid8, p_seq bigint, p_limit integer, p_checkpoint_every integer,
    p_channel text
) RETURNS TABLE (sealed integer, last_position bigint, last_hash bytea, last_tx xid8, last_seq bigint,
                blocked boolean)
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    i integer;
    v_hash bytea := p_hash;
    v_seqs bigint[];
    v_txs xid8[];
    v_links bytea[];
    v_hashes bytea[];
BEGIN
    -- the rows as three arrays in one statement (a row loop costs a cursor fetch and assignments per row)
    SELECT coalesce(array_agg(s.seq ORDER BY s.tx_id, s.seq), '{}'), coalesce(array_agg(s.tx_id ORDER BY s.tx_id, s.seq), '{}'),
           coalesce(array_agg(s.chain_hash ORDER BY s.tx_id, s.seq), '{}')
      INTO v_seqs, v_txs, v_links
      FROM (SELECT seq, tx_id, chain_hash FROM events
             WHERE (tx_id, seq) > (p_tx, p_seq) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
             ORDER BY tx_id, seq LIMIT p_limit) s;
    n := cardinality(v_seqs);
    IF n > 0 THEN
        v_hashes := array_fill(NULL::bytea, ARRAY[n]);
        FOR i IN 1 .. n LOOP
            v_hash := sha256(v_hash || v_links[i]);
            v_hashes[i] := v_hash;
        END LOOP;
        INSERT INTO log (position, seq, tx_id, global_hash)
            SELECT p_position + u.n, u.seq, u.tx_id, u.global_hash
              FROM unnest(v_seqs, v_txs, v_hashes) WITH ORDINALITY AS u (seq, tx_id, global_hash, n);
        INSERT INTO checkpoints (position, global_hash)
            SELECT c, v_hashes[c - p_position]
              FROM generate_series((p_position / p_checkpoint_every + 1) * p_checkpoint_every, p_position + n,
                                   p_checkpoint_every) AS c;
        PERFORM pg_notify(p_channel, (p_position + n)::text);
        RETURN QUERY SELECT n, p_position + n, v_hash, v_txs[n], v_seqs[n], false;
        RETURN;
    END IF;
    -- Nothing to seal: is an event past the cursor held back by an older running transaction? (The
    -- first one in index order: an EXISTS would be planned generically as a scan of the whole log.)
    PERFORM 1 FROM events WHERE (tx_id, seq) > (p_tx, p_seq) ORDER BY tx_id, seq LIMIT 1;
    RETURN QUERY SELECT 0, p_position, p_hash, p_tx, p_seq, FOUND;
END;
$$;
