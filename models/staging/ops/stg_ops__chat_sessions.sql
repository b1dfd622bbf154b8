with

source as (

    select * from {{ source('ops', 'chat_session') }}

),

renamed as (

    select
        id as chat_session_id,
        user_id,
        organization_id,
        type as session_type,
        started_at,
        ended_at
    from source

)

select * from renamed
