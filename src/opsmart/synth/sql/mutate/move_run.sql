-- One run with metrics moves to another organization.
with

victim as (
    select
        r.id,
        r.organization_id
    from ops.analysis_run as r
    where
        r.organization_id is not null
        and exists (
            select from ops.analysis_metric as m
            where m.analysis_run_id = r.id
        )
    order by pg_temp.uh(r.id::text, 'victim.moved_run')
    limit 1
),

target as (
    select o.id
    from ops.organization as o, victim as v
    where o.id != v.organization_id
    order by pg_temp.uh(o.id::text, 'victim.new_organization')
    limit 1
)

update ops.analysis_run as r
set organization_id = target.id
from victim, target
where r.id = victim.id
