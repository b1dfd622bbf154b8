with

source as (

    select * from {{ source('ops', 'organization_user') }}

),

renamed as (

    select
        id as organization_member_id,
        organization_id,
        user_id,
        role as member_role,
        status as member_status,
        created_at
    from source

)

select * from renamed
