-- A third of the prompts relate to the organization's previous prompt.
select
    pg_temp.id('prompt_relation', o * 100000 + k) as id,
    pg_temp.id('prompt', o * 100000 + k) as source_id,
    pg_temp.id('prompt', o * 100000 + k - 1) as target_id,
    pg_temp.pick(%(relation_types)s, power(pg_temp.u(o * 100000 + k, 'prompt_relation.type'), 2)) as relation_type,
    case
        when pg_temp.u(o * 100000 + k, 'prompt_relation.description') < 0.3 then 'found by the analyzer'
    end as description,
    %(start)s::timestamptz
    - interval '24 hours' * (10 * pg_temp.u(o * 100000 + k, 'prompt_relation.created')) as created_at
from generate_series(0, %(orgs)s - 1) as o
cross join lateral generate_series(1, pg_temp.prompts_in_org(o, %(max_prompts)s) - 1) as k
where pg_temp.u(o * 100000 + k, 'prompt_relation.exists') < 0.3
