with

source as (

    select * from {{ source('ops', 'event') }}

),

renamed as (

    select
        id as event_id,
        organization_id,
        user_id,
        source as event_source,
        feature_key,
        occurred_at,
        received_at,
        payload
    from source

)

select * from renamed
