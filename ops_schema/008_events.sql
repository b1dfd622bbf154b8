-- ops.event: product usage events, range-partitioned by month on occurred_at.
--
-- Monthly partitions are created ahead of time and a default partition catches
-- anything outside them, so no insert ever fails for lack of a partition.
-- ops.ensure_event_partitions() adds months later, moving any rows the default
-- partition already holds for them.

create table ops.event (
    id bigint generated always as identity,
    organization_id uuid not null,
    user_id uuid,
    source varchar(32) not null,
    feature_key varchar(100) not null,
    occurred_at timestamptz not null,
    received_at timestamptz not null default now(),
    payload jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    constraint pk_event primary key (id, occurred_at),
    constraint fk_event_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade,
    constraint fk_event_user_id foreign key (user_id)
    references core.users (id) on delete cascade,
    constraint chk_event_source
    check (source in ('web', 'api', 'cli', 'sdk', 'slack', 'github', 'linear', 'email')),
    constraint chk_event_feature_key check (feature_key ~ '^[a-z][a-z0-9_.:-]*$'),
    constraint chk_event_payload check (jsonb_typeof(payload) = 'object'),
    constraint chk_event_occurred_at check (isfinite(occurred_at))
) partition by range (occurred_at);

comment on table ops.event is
'Product usage events, partitioned by month on occurred_at; received_at is when the platform saw them.';

create index idx_event_organization_id_occurred_at on ops.event (organization_id, occurred_at);
create index idx_event_occurred_at on ops.event (occurred_at);
create index idx_event_user_id on ops.event (user_id);
create index idx_event_payload on ops.event using gin (payload jsonb_path_ops);

create table ops.event_default partition of ops.event default;

-- Runs with its owner's rights, so the platform (opsmart_app, which may not
-- create tables in ops) can make the partition it needs.
create or replace function ops.ensure_event_partitions(p_from date, p_to date)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    month_start date := date_trunc('month', p_from)::date;
    month_end date;
    part_name text;
    created integer := 0;
begin
    if p_from > p_to then
        raise exception 'ensure_event_partitions: % is after %', p_from, p_to;
    end if;
    if p_to - p_from > 3660 then
        raise exception 'ensure_event_partitions: % to % is more than ten years of months', p_from, p_to;
    end if;
    while month_start <= p_to loop
        month_end := (month_start + interval '1 month')::date;
        part_name := format('event_%s', to_char(month_start, 'YYYY_MM'));
        if to_regclass(format('ops.%I', part_name)) is null then
            -- Serialise partition creation so concurrent callers cannot race.
            perform pg_advisory_xact_lock(hashtext('ops.ensure_event_partitions'));
            if to_regclass(format('ops.%I', part_name)) is null then
                -- Rows that landed in the default partition move to their month:
                -- parked, then inserted again through the parent once the month
                -- is attached, so that logical replication (which publishes the
                -- parent) carries a delete and an insert, never a row vanishing.
                drop table if exists pg_temp.opsmart_parked_events;
                execute format(
                    'create temporary table opsmart_parked_events on commit drop as '
                    'with moved as (delete from ops.event_default where occurred_at >= %L and occurred_at < %L '
                    'returning *) select * from moved',
                    month_start, month_end);
                execute format('create table ops.%I (like ops.event including defaults including constraints)', part_name);
                execute format('alter table ops.event attach partition ops.%I for values from (%L) to (%L)',
                    part_name, month_start, month_end);
                insert into ops.event overriding system value select * from pg_temp.opsmart_parked_events;
                created := created + 1;
            end if;
        end if;
        month_start := month_end;
    end loop;
    if created > 0 then
        -- new partitions refuse truncate like their parent (tracking triggers
        -- are row triggers, cloned by attach)
        perform ops.refuse_truncate_of('ops.event');
    end if;
    return created;
end
$$;

comment on function ops.ensure_event_partitions(date, date) is
'Creates the monthly ops.event partitions covering [p_from, p_to], moving rows out of the default '
'partition. Returns how many it created.';

-- Two years back and a year ahead from the day the schema is applied.
select ops.ensure_event_partitions(
    (date_trunc('month', now()) - interval '24 months')::date,
    (date_trunc('month', now()) + interval '12 months')::date
);

-- Mart source (see 002_change_tracking.sql): feature_daily counts each event
-- in its day, organization and feature, and reads a changed group through
-- the index below.
select ops.track_mart_source(
    'event', 'ops.event', 'row.occurred_at', 'array[row.organization_id::text, row.feature_key::text]',
    array['organization_id', 'user_id', 'feature_key', 'occurred_at']
);
create index idx_event_organization_id_feature_key_occurred_at
on ops.event (organization_id, feature_key, occurred_at);
