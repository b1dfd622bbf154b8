-- Prompts: organization o has about max_prompts / sqrt(o + 1), keyed o * 100000 + k; one in twenty deleted.
select
    pg_temp.id('prompt', p.i) as id,
    pg_temp.id('org', p.o) as organization_id,
    pg_temp.pick(%(tags)s, pg_temp.u(p.i, 'prompt.name')) || ' prompt ' || p.k as name,
    case when pg_temp.u(p.i, 'prompt.description') < 0.5 then 'Owned by team ' || mod(p.k, 5) end as description,
    pg_temp.pick(%(prompt_openings)s, pg_temp.u(p.i, 'prompt.opening')) || ' '
    || pg_temp.pick(%(prompt_tasks)s, pg_temp.u(p.i, 'prompt.task')) as content,
    pg_temp.pick(%(formats)s, power(pg_temp.u(p.i, 'prompt.format'), 2)) as format_type,
    pg_temp.pick(%(languages)s, power(pg_temp.u(p.i, 'prompt.language'), 3)) as language,
    jsonb_build_array(pg_temp.pick(%(tags)s, pg_temp.u(p.i, 'prompt.tag')))
    || case
        when pg_temp.u(p.i, 'prompt.has_second_tag') < 0.5
            then jsonb_build_array(pg_temp.pick(%(tags)s, pg_temp.u(p.i, 'prompt.second_tag')))
        else '[]'
    end as tags,
    jsonb_build_object('version', 1 + floor(6 * pg_temp.u(p.i, 'prompt.version'))::integer) as extra_metadata,
    p.deleted_at,
    p.created as created_at,
    coalesce(p.deleted_at, p.created) as updated_at
from (
    select
        c.*,
        case
            when pg_temp.u(c.i, 'prompt.deleted') < 0.05
                then c.created + interval '24 hours' * (1 + 30 * pg_temp.u(c.i, 'prompt.deleted_after'))
        end as deleted_at
    from (
        select
            o * 100000 + k as i,
            o,
            k,
            %(start)s::timestamptz
            - interval '24 hours' * (60 + 300 * pg_temp.u(o * 100000 + k, 'prompt.created')) as created
        from generate_series(0, %(orgs)s - 1) as o
        cross join lateral generate_series(0, pg_temp.prompts_in_org(o, %(max_prompts)s) - 1) as k
    ) as c
) as p
