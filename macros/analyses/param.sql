{#-
    A parameter of an analyst question in analyses/: the value passed with
    --vars (opsmart bench passes the same values it gives the ops version of
    the question), else a default relative to now, in UTC. So
    `dbt compile --select path:analyses/top_features_this_week` prints SQL an
    analyst can run as it is.
-#}
{% macro opsmart_param(name) -%}
    {%- set today = "(now() at time zone 'UTC')::date" -%}
    {%- set defaults = {
        'today': today,
        'yesterday': today ~ ' - 1',
        'since_7d': today ~ ' - 6',
        'since_30d': today ~ ' - 29',
        'week_start': today ~ ' - 7',
        'prior_week_start': today ~ ' - 14',
        'month_start': "date_trunc('month', " ~ today ~ ")::date",
        'since_24h': "date_trunc('hour', now()) - interval '23 hours'",
        'since_90d': "date_trunc('hour', now()) - interval '90 days'",
        'org': '(select organization_id from ' ~ ref('feature_daily')
            ~ ' group by organization_id order by sum(events) desc, organization_id limit 1)',
    } -%}
    {%- if name not in defaults -%}
        {{ exceptions.raise_compiler_error("opsmart_param: no parameter named " ~ name) }}
    {%- endif -%}
    ({{ var(name, defaults[name]) }})
{%- endmacro %}
