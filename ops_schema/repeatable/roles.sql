-- The opsmart group roles (no login: make login roles members of them).
--
--   opsmart_app          the platform: reads and writes core/ops
--   opsmart_transformer  dbt: reads the marts' sources, owns what it builds
--   opsmart_analyst      reads the marts, every row
--   opsmart_tenant       reads the marts, only its organizations' rows
--
-- Run by every `opsmart bootstrap` when the bootstrapping user may create
-- roles; otherwise a DBA runs it (`opsmart bootstrap --roles-sql` prints it)
-- and the next `opsmart bootstrap` grants the roles their privileges.
-- Idempotent.

do $$
declare
    may_create boolean;
    role_name text;
begin
    select rolsuper or rolcreaterole into may_create from pg_roles where rolname = current_user;
    foreach role_name in array array['opsmart_app', 'opsmart_transformer', 'opsmart_analyst', 'opsmart_tenant']
    loop
        if exists (select from pg_roles where rolname = role_name) then
            continue;
        end if;
        if not may_create then
            raise notice 'opsmart: % may not create roles; % is missing (a DBA can run `opsmart bootstrap --roles-sql`)',
                current_user, role_name;
            continue;
        end if;
        execute format('create role %I nologin', role_name);
    end loop;
end
$$;
