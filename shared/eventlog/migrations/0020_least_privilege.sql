-- Least privilege: migrations run as the owner role, the services as an app role.
--
-- copro_grant_app(app) gives the app role what the services need and nothing more, table by table,
-- by one rule the tests check: the log's append-only tables (those whose triggers refuse change)
-- may be read and appended to; the services' working tables (cursors, idempotency, tokens, data
-- keys, dead letters, deliveries) may be read and changed row by row; schema_migrations may be read.
-- No TRUNCATE, REFERENCES or TRIGGER anywhere, and no ownership: the app role cannot ALTER or DROP a
-- table of the log, drop or disable its triggers, and (not being a superuser) cannot set
-- session_replication_role. It may create tables in the schema: its read models, which it owns,
-- because a rebuild replaces them. The migration runner calls this after every run, so tables
-- added by later migrations follow the same rule.
CREATE FUNCTION copro_grant_app(p_app name) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t record;
    s record;
BEGIN
    EXECUTE format('GRANT USAGE, CREATE ON SCHEMA public TO %I', p_app);
    FOR t IN
        SELECT c.oid, c.relname,
               EXISTS (SELECT 1 FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid
                        WHERE g.tgrelid = c.oid AND p.proname = 'copro_refuse_change') AS append_only
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND pg_get_userbyid(c.relowner) = current_user
    LOOP
        EXECUTE format('REVOKE ALL ON TABLE public.%I FROM %I', t.relname, p_app);
        IF t.relname = 'schema_migrations' THEN
            EXECUTE format('GRANT SELECT ON TABLE public.%I TO %I', t.relname, p_app);
        ELSIF t.append_only THEN
            EXECUTE format('GRANT SELECT, INSERT ON TABLE public.%I TO %I', t.relname, p_app);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.%I TO %I', t.relname, p_app);
        END IF;
    END LOOP;
    FOR s IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'S' AND pg_get_userbyid(c.relowner) = current_user
    LOOP
        EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE public.%I TO %I', s.relname, p_app);
    END LOOP;
END;
$$;

-- What the relay found wrong with the stream (a message it did not write), for every service's /readyz.
ALTER TABLE relay_cursors ADD COLUMN IF NOT EXISTS problem text;
