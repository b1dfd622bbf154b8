with

source as (

    select * from {{ source('ops', 'analysis_run') }}

),

renamed as (

    select
        id as analysis_run_id,
        organization_id,
        user_id,
        prompt_id,
        experiment_run_id,
        llm_model,
        status,
        started_at,
        finished_at,
        updated_at
    from source

)

select * from renamed
