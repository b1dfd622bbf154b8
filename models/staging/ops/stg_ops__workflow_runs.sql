with

source as (

    select * from {{ source('ops', 'workflow_run') }}

),

renamed as (

    select
        id as workflow_run_id,
        organization_id,
        user_id,
        status,
        started_at,
        finished_at
    from source

)

select * from renamed
