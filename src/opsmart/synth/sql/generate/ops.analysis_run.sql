-- Analysis runs (pg_temp.synth_runs): a tenth without a saved prompt, a few of the first
-- organization's part of an experiment.
select
    r.id,
    r.organization_id,
    r.user_id,
    case
        when not r.anonymous and pg_temp.u(r.i, 'analysis_run.has_prompt') >= 0.1
            then pg_temp.id(
                'prompt',
                r.o::bigint * 100000
                + floor(pg_temp.u(r.i, 'analysis_run.prompt') * pg_temp.prompts_in_org(r.o, %(max_prompts)s))::bigint
            )
    end as prompt_id,
    case
        when r.o = 0 and pg_temp.u(r.i, 'analysis_run.in_experiment') < 0.05
            then pg_temp.id(
                'experiment_run',
                floor(%(runs_per_experiment)s * pg_temp.u(r.i, 'analysis_run.experiment_run'))::bigint
            )
    end as experiment_run_id,
    pg_temp.run_model(r.i) as llm_model,
    r.status,
    r.started_at,
    r.finished_at,
    jsonb_build_object(
        'trigger', pg_temp.pick(%(triggers)s, power(pg_temp.u(r.i, 'analysis_run.trigger'), 2)),
        'tokens', floor(exp(ln(1500) + 0.7 * pg_temp.z(r.i, 'analysis_run.tokens')))::integer
    )
    || case
        when r.status = 'failed'
            then jsonb_build_object('error', pg_temp.pick(%(run_errors)s, pg_temp.u(r.i, 'analysis_run.error')))
        else '{}'
    end as meta,
    r.created_at,
    coalesce(r.finished_at, r.started_at, r.created_at) as updated_at
from pg_temp.synth_runs as r
