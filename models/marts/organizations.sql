{{
    config(
        materialized='table',
        distributed_by='reference',
        indexes=[
            {'columns': ['organization_id'], 'unique': true},
            {'columns': ['organization_slug']},
        ],
    )
}}

-- The organizations dimension: names and plans to join to the marts'
-- organization_id. Small, rebuilt whole on every build. Its key is a unique
-- index, not a primary-key constraint: dbt builds the table under a
-- temporary name and renames it, and a constraint's index would keep that
-- name (organizations__dbt_tmp_pkey, then ..._pkey1, ...); dbt names indexes
-- after the final relation.

with

organizations as (

    select * from {{ ref('stg_ops__organizations') }}

),

members as (

    select * from {{ ref('stg_ops__organization_members') }}

),

member_counts as (

    select
        organization_id,
        count(*) filter (where member_status = 'active') as active_members,
        count(*) filter (where member_status = 'invited') as invited_members
    from members
    group by 1

),

dimension as (

    select
        organizations.organization_id,
        organizations.organization_name,
        organizations.organization_slug,
        organizations.plan,
        organizations.region,
        organizations.created_at,
        coalesce(member_counts.active_members, 0) as active_members,
        coalesce(member_counts.invited_members, 0) as invited_members
    from organizations
    left join member_counts
        on organizations.organization_id = member_counts.organization_id

)

select * from dimension
