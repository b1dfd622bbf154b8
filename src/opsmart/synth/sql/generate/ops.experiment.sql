-- Research experiments, one per ten organizations (and one more).
select
    pg_temp.id('experiment', e) as id,
    pg_temp.id('org', mod(e, %(orgs)s)) as organization_id,
    'experiment-' || e || '-' || pg_temp.pick(%(tags)s, pg_temp.u(e, 'experiment.tag')) as name,
    'A stricter rubric lowers semantic entropy without hurting overall scores.' as hypothesis,
    jsonb_build_object(
        'temperature', round((pg_temp.u(e, 'experiment.temperature'))::numeric, 2), 'rubric', 'default'
    ) as configuration,
    case when mod(e, %(orgs)s) < %(users)s then pg_temp.id('user', mod(e, %(orgs)s)) end as created_by,
    %(start)s::timestamptz - interval '7 days' as created_at,
    %(start)s::timestamptz - interval '7 days' as updated_at
from generate_series(0, %(experiments)s - 1) as e
