with

source as (

    select * from {{ source('ops', 'organization') }}

),

renamed as (

    select
        id as organization_id,
        name as organization_name,
        slug as organization_slug,
        settings ->> 'plan' as plan,
        settings ->> 'region' as region,
        created_at
    from source

)

select * from renamed
