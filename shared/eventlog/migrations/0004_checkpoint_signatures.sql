-- Signatures over checkpoints: copro's own, and each partner organisation's countersignature,
-- so that no single operator can rewrite history unnoticed by the others.
CREATE TABLE checkpoint_signatures (
    position   bigint      NOT NULL REFERENCES checkpoints (position),
    signer     text        NOT NULL,
    public_key bytea       NOT NULL,
    signature  bytea       NOT NULL,
    signed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (position, signer)
);

CREATE TRIGGER checkpoint_signatures_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON checkpoint_signatures
    FOR EACH STATEMENT EXECUTE FUNCTION copro_refuse_change();
