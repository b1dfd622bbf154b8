-- Each experiment's runs, one a day from the start of the period, keyed e * runs_per_experiment + n.
with

runs as (
    select
        e.e,
        n.n,
        e.e * %(runs_per_experiment)s + n.n as i,
        %(start)s::timestamptz + interval '24 hours' * (n.n + 1) as started
    from generate_series(0, %(experiments)s - 1) as e (e)
    cross join generate_series(0, %(runs_per_experiment)s - 1) as n (n)
)

select
    pg_temp.id('experiment_run', r.i) as id,
    pg_temp.id('experiment', r.e) as experiment_id,
    'v1.' || r.n as prompt_version,
    '0.9.' || (r.n + 1) as framework_version,
    pg_temp.pick(%(models)s, pg_temp.u(r.i, 'experiment_run.model')) as llm_model,
    jsonb_build_object('seed', r.n) as configuration,
    r.started as started_at,
    r.started + interval '3 hours' as finished_at,
    r.started as created_at,
    r.started + interval '3 hours' as updated_at
from runs as r
