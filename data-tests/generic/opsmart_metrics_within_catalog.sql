{#-
    Every row of a metric mart whose metric_key the catalog lists keeps its
    smallest and largest sample inside the catalogued range.
-#}
{% test opsmart_metrics_within_catalog(model, catalog) %}

with

model_rows as (

    select * from {{ model }}

),

catalog_rows as (

    select * from {{ catalog }}

)

select
    model_rows.metric_key,
    model_rows.value_min,
    model_rows.value_max,
    catalog_rows.min_value,
    catalog_rows.max_value
from model_rows
inner join catalog_rows
    on model_rows.metric_key = catalog_rows.metric_key
where
    model_rows.value_min < catalog_rows.min_value
    or model_rows.value_max > catalog_rows.max_value

{% endtest %}


{#- Every metric_key of a metric mart is in the catalog (run as a warning: a new metric is news, not an error). -#}
{% test opsmart_metrics_catalogued(model, catalog) %}

with

model_rows as (

    select * from {{ model }}

),

catalog_rows as (

    select * from {{ catalog }}

)

select distinct model_rows.metric_key
from model_rows
where not exists (
    select from catalog_rows
    where catalog_rows.metric_key = model_rows.metric_key
)

{% endtest %}
