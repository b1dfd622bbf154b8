{%- set group_columns = {'organization_id': 'organization_id'} -%}
{#-
    One intermediate model per kind of sample, each read and aggregated on its
    own: their metric keys never overlap (analysis., evaluation., judge.,
    conversation.), so no group gets rows from two of them. On a Citus
    cluster, a union of the four under the changed-key join was not pushed
    down: every build gathered every sample on the coordinator.
-#}
{%- set sample_models = [
    'int_analysis_metric_samples',
    'int_evaluation_metric_samples',
    'int_judge_score_samples',
    'int_message_samples',
] -%}
{{
    config(
        unique_key=['ts_bucket', 'organization_id', 'metric_key'],
        bucket_column='ts_bucket',
        bucket_grain='hour',
        group_columns=group_columns,
        change_sources=['analysis_metric', 'judge_score', 'evaluation_metric', 'message'],
        distributed_by='organization_id',
        indexes=[
            {'columns': ['metric_key', 'ts_bucket']},
            {'columns': ['organization_id', 'ts_bucket']},
        ],
    )
}}

with

{% for sample_model in sample_models %}
{{ sample_model }} as (

    {{ opsmart_changed_rows(ref(sample_model), 'sampled_at', group_columns) }}

),

{% endfor %}
hourly as (

    {%- for sample_model in sample_models %}
    select
        organization_id,
        metric_key,
        {{ opsmart_bucket_expression('sampled_at', 'hour') }} as ts_bucket,
        count(*) as sample_count,
        sum(sample_value) as value_sum,
        min(sample_value) as value_min,
        max(sample_value) as value_max,
        round(avg(sample_value), 6)::numeric(38, 6) as value_num,
        null::jsonb as value_json
    from {{ sample_model }}
    group by 1, 2, 3
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

)

select * from hourly
