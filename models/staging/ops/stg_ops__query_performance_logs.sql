with

source as (

    select * from {{ source('ops', 'query_performance_log') }}

),

renamed as (

    select
        id as query_performance_log_id,
        query_name,
        endpoint,
        organization_id,
        duration_ms,
        rows_returned,
        ok as is_ok,
        measured_at
    from source

)

select * from renamed
