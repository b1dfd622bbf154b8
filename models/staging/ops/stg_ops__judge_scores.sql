with

source as (

    select * from {{ source('ops', 'judge_score') }}

),

renamed as (

    select
        id as judge_score_id,
        analysis_run_id,
        organization_id,
        criterion_id as judge_criterion_id,
        score,
        created_at
    from source

)

select * from renamed
