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
    r record;
    n integer := 0;
    v_position bigint := p_position;
    v_hash bytea := p_hash;
    v_tx xid8 := p_tx;
    v_seq bigint := p_seq;
    v_positions bigint[] := '{}';
    v_seqs bigint[] := '{}';
    v_txs xid8[] := '{}';
    v_hashes bytea[] := '{}';
BEGIN
    FOR r IN SELECT seq, tx_id, chain_hash FROM events
              WHERE (tx_id, seq) > (p_tx, p_seq) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY tx_id, seq LIMIT p_limit
    LOOP
        n := n + 1;
        v_position := v_position + 1;
        v_hash := sha256(v_hash || r.chain_hash);
        v_positions[n] := v_position;
        v_seqs[n] := r.seq;
        v_txs[n] := r.tx_id;
        v_hashes[n] := v_hash;
        v_tx := r.tx_id;
        v_seq := r.seq;
    END LOOP;
    IF n > 0 THEN
        INSERT INTO log (position, seq, tx_id, global_hash) SELECT * FROM unnest(v_positions, v_seqs, v_txs, v_hashes);
        INSERT INTO checkpoints (position, global_hash)
            SELECT u.p, u.h FROM unnest(v_positions, v_hashes) AS u (p, h) WHERE u.p % p_checkpoint_every = 0;
        PERFORM pg_notify(p_channel, v_position::text);
    END IF;
    -- Nothing to seal: is an event past the cursor held back by an older running transaction? (The
    -- first one in index order: an EXISTS would be planned generically as a scan of the whole log.)
    IF n = 0 THEN
        PERFORM 1 FROM events WHERE (tx_id, seq) > (p_tx, p_seq) ORDER BY tx_id, seq LIMIT 1;
        RETURN QUERY SELECT n, v_position, v_hash, v_tx, v_seq, FOUND;
    ELSE
        RETURN QUERY SELECT n, v_position, v_hash, v_tx, v_seq, false;
    END IF;
END;
$$;
