-- The legacy single-table results, for half of the prompts (keyed like them), with the
-- scores and metrics analysis runs have. The platform keeps the details of a result's
-- semantic entropy in analysis_extra_metadata (the guidelines' JSON-path query reads
-- analysis_extra_metadata->'semantic_entropy'->'entropy'): the answers it sampled, the
-- clusters of equal meaning among them, and the entropy over those, the column's value.
select
    pg_temp.id('analysis_result', p.i) as id,
    pg_temp.id('prompt', p.i) as prompt_id,
    pg_temp.pick(%(prompt_openings)s, pg_temp.u(p.i, 'prompt.opening')) || ' '
    || pg_temp.pick(%(prompt_tasks)s, pg_temp.u(p.i, 'prompt.task')) as prompt_content,
    pg_temp.pick(%(languages)s, power(pg_temp.u(p.i, 'prompt.language'), 3)) as detected_language,
    pg_temp.u(p.i, 'analysis_result.translated') < 0.1 as translated,
    pg_temp.u(p.i, 'analysis_result.format_valid') < 0.95 as format_valid,
    p.overall as overall_score,
    pg_temp.judge_score(p.i, p.overall) as judge_score,
    p.entropy as semantic_entropy,
    pg_temp.metric_value('complexity_score', p.i, p.overall) as complexity_score,
    floor(exp(ln(900) + 0.8 * pg_temp.z(p.i, 'analysis_result.length')))::integer as length_chars,
    floor(exp(ln(150) + 0.8 * pg_temp.z(p.i, 'analysis_result.length')))::integer as length_words,
    case
        when pg_temp.u(p.i, 'analysis_result.contradictions') < 0.2 then '[{"between": [1, 3]}]'::jsonb
        else '[]'
    end as contradictions,
    '[]'::jsonb as patches,
    '[]'::jsonb as clarify_questions,
    jsonb_build_object(
        'engine', 'legacy',
        'semantic_entropy', jsonb_build_object(
            'entropy', p.entropy,
            'samples', 10,
            'clusters', least(10, greatest(1, round(exp(p.entropy))))::integer
        )
    ) as analysis_extra_metadata,
    %(start)s::timestamptz - interval '24 hours' * (20 * pg_temp.u(p.i, 'analysis_result.created')) as created_at
from (
    select
        x.i,
        pg_temp.overall_score(x.i) as overall,
        pg_temp.metric_value('semantic_entropy', x.i, null) as entropy
    from (
        select o * 100000 + k as i
        from generate_series(0, %(orgs)s - 1) as o
        cross join lateral generate_series(0, pg_temp.prompts_in_org(o, %(max_prompts)s) - 1) as k
    ) as x
    where pg_temp.u(x.i, 'analysis_result.exists') < 0.5
    offset 0
) as p
