-- A succeeded run's judge scores, one per criterion n (key run * child_keys + n), a few
-- seconds after it finished; in run order, like the metrics.
select
    c.id as analysis_run_id,
    c.organization_id,
    pg_temp.id('criterion', c.n) as criterion_id,
    pg_temp.judge_score(c.k, c.overall) as score,
    case
        when pg_temp.u(c.k, 'judge_score.has_comment') < 0.3
            then pg_temp.pick(%(judge_comments)s, pg_temp.u(c.k, 'judge_score.comment'))
    end as comment,
    jsonb_build_object('judge_model', 'gpt-4o') as evidence,
    c.scored_at as created_at,
    c.scored_at as updated_at
from (
    select
        s.*,
        s.i * %(child_keys)s + s.n as k,
        least(
            s.finished_at + interval '1 second' * (2 + 28 * pg_temp.u(s.i * %(child_keys)s + s.n, 'judge_score.delay')),
            %(anchor)s::timestamptz
        ) as scored_at
    from (
        select
            r.*,
            generate_series(0, %(criteria)s - 1) as n
        from pg_temp.synth_runs as r
        where r.status = 'succeeded'
    ) as s
) as c
