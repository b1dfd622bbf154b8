with

source as (

    select * from {{ source('ops', 'evaluation_metric') }}

),

renamed as (

    select
        id as evaluation_metric_id,
        run_id as workflow_run_id,
        organization_id,
        node_key,
        metric_name,
        metric_value,
        created_at
    from source

)

select * from renamed
