-- The default LLM-as-judge rubric, shared by every organization.
select
    pg_temp.id('rubric', 0) as id,
    null::uuid as organization_id,
    'default' as name,
    'Default LLM-as-judge rubric' as description,
    '{"version": 2}'::jsonb as meta,
    %(start)s::timestamptz - interval '30 days' as created_at,
    %(start)s::timestamptz - interval '30 days' as updated_at
