with

source as (

    select * from {{ source('ops', 'judge_criterion') }}

),

renamed as (

    select
        id as judge_criterion_id,
        rubric_id as judge_rubric_id,
        key as criterion_key,
        title,
        weight
    from source

)

select * from renamed
