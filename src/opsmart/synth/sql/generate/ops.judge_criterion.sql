-- The default rubric's criteria (vocabulary judge_criteria), criterion n keyed n - 1.
select
    pg_temp.id('criterion', c.n - 1) as id,
    pg_temp.id('rubric', 0) as rubric_id,
    c.key,
    initcap(c.key) as title,
    'Scores the ' || c.key || ' of the answer' as description,
    c.weight,
    %(start)s::timestamptz - interval '30 days' as created_at,
    %(start)s::timestamptz - interval '30 days' as updated_at
from unnest(%(judge_criteria)s::text[], %(judge_weights)s::numeric[]) with ordinality as c (key, weight, n)
