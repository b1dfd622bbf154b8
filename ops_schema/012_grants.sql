-- Privileges for the group roles (when 001 could create them).
do $$
begin
    if not exists (select from pg_roles where rolname = 'opsmart_transformer') then
        raise notice 'opsmart: group roles absent; skipping grants';
        return;
    end if;

    -- The transformer reads ops and core, owns what it builds in mart, and
    -- writes only its own bookkeeping in ops.
    grant usage on schema core, ops to opsmart_transformer;
    grant select on all tables in schema core, ops to opsmart_transformer;
    alter default privileges in schema core, ops grant select on tables to opsmart_transformer;
    grant usage, create on schema mart to opsmart_transformer;
    grant insert, update, delete on ops.mart_build_state to opsmart_transformer;
    grant delete on ops.mart_change_log to opsmart_transformer;

    -- Analysts read mart only; dbt grants select on each mart as it builds it.
    grant usage on schema mart to opsmart_analyst;
    revoke all on schema core, ops from opsmart_analyst;
end
$$;
