with

source as (

    select * from {{ source('ops', 'analysis_metric') }}

),

renamed as (

    select
        id as analysis_metric_id,
        analysis_run_id,
        organization_id,
        key as metric_key,
        value_num,
        created_at
    from source

)

select * from renamed
