-- The active memberships left, numbered: new rows pick their member by number.
create temp table mutate_member on commit drop as
select
    ou.user_id,
    ou.organization_id,
    row_number() over (order by ou.id) - 1 as rn
from ops.organization_user as ou
where ou.status = 'active'
