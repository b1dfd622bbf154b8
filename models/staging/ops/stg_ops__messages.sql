with

source as (

    select * from {{ source('ops', 'message') }}

),

renamed as (

    select
        id as message_id,
        session_id as chat_session_id,
        organization_id,
        role as message_role,
        ts as sent_at
    from source

)

select * from renamed
