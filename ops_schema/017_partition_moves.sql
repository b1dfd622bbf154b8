-- An UPDATE that moves a row to another partition (an event whose occurred_at
-- is corrected into another month) is, for PostgreSQL, a DELETE from the old
-- partition and an INSERT into the new one: AFTER DELETE fires, AFTER UPDATE
-- does not, and the inserted row keeps the old row's change_xid. The change
-- log then holds the row's old (group, hour) but nothing points a build at its
-- new one, and the marts miss it.
--
-- A BEFORE UPDATE row trigger on the partition key of every partitioned
-- source re-stamps change_xid whenever the key changes: the moved row is then
-- a row the previous build's snapshot could not see, found by the build's
-- change_xid scan like an insert. (A key change that stays in its partition is
-- re-stamped too; that costs a recompute of a group the AFTER UPDATE trigger
-- logs anyway.) Row-level BEFORE triggers of a partitioned table are cloned
-- onto every partition and may not change the partition a row goes to; this
-- one changes change_xid only.
--
-- A replica (015) re-stamps every inserted and updated row already, and a
-- Citus cluster installs its own tracking (ops_schema/citus/): neither gets
-- this trigger.

create function ops.restamp_change_xid() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
    new.change_xid := pg_current_xact_id()::text::bigint;
    return new;
end
$$;
comment on function ops.restamp_change_xid() is
'BEFORE UPDATE of a partitioned source''s partition key: the row may move partition, so it counts as newly written.';
revoke all on function ops.restamp_change_xid() from public;

alter function ops.install_mart_tracking(text, regclass) rename to install_mart_tracking_015;

-- 015's tracking (nothing on a Citus table), and on a partitioned source of a primary the re-stamping
-- trigger above (disabled while the primary's tracking is off). Idempotent.
create function ops.install_mart_tracking(p_source text, p_relation regclass) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    trigger_name text := 'trg_' || p_source || '_mart_move';
    key_columns name[];
    columns_clause text;
    changed_clause text;
    by_expression boolean;
    distributed boolean := false;
begin
    if to_regclass('pg_catalog.pg_dist_partition') is not null then
        execute 'select exists (select from pg_catalog.pg_dist_partition where logicalrelid = $1)'
        into distributed using p_relation;
    end if;
    if distributed then
        return;  -- a Citus table: ops_schema/citus/020_change_tracking.sql tracks it
    end if;
    perform ops.install_mart_tracking_015(p_source, p_relation);
    select array_agg(att.attname order by key.position), bool_or(key.attnum = 0)
    into key_columns, by_expression
    from pg_partitioned_table as part
    cross join lateral unnest(part.partattrs::int2[]) with ordinality as key (attnum, position)
    left join pg_attribute as att on att.attrelid = part.partrelid and att.attnum = key.attnum
    where part.partrelid = p_relation;

    execute format('drop trigger if exists %I on %s', trigger_name, p_relation);
    if
        by_expression is null
        or exists (select from ops.replicated_table as rt where to_regclass(rt.relation) = p_relation)
    then
        return;
    end if;

    if by_expression then
        -- a key computed by an expression: any update may move the row
        execute format(
            'create trigger %I before update on %s for each row execute function ops.restamp_change_xid()',
            trigger_name, p_relation);
    else
        select
            string_agg(quote_ident(c), ', '),
            format('row(%s) is distinct from row(%s)',
                string_agg('old.' || quote_ident(c), ', '), string_agg('new.' || quote_ident(c), ', '))
        into columns_clause, changed_clause
        from unnest(key_columns) as c;
        execute format(
            'create trigger %I before update of %s on %s for each row when (%s) '
            'execute function ops.restamp_change_xid()',
            trigger_name, columns_clause, p_relation, changed_clause);
    end if;
    if ops.mart_tracking_is_off() then
        execute format('alter table %s disable trigger %I', p_relation, trigger_name);
    end if;
end
$$;
comment on function ops.install_mart_tracking(text, regclass) is
'Installs a declared source''s row triggers: 015''s, and on a primary''s partitioned source one re-stamping '
'change_xid when the partition key changes (the row may move partition).';

select ops.install_mart_tracking(ms.source, ms.relation)
from ops.mart_source as ms
order by ms.source, ms.relation::text;
