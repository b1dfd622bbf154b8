{#-
    dbt run-operation opsmart_drop_schema --args '{schema: ci_pr1}'

    Drops a schema dbt built into (e.g. a slim-CI schema), the _staging schema
    beside it, and their build state, through ops.drop_mart_schema(): the
    deployment's own schemas are refused.
-#}
{% macro opsmart_drop_schema(schema) -%}
    {%- call statement('drop_schema') -%}
        select ops.drop_mart_schema({{ opsmart_literal(schema) }})
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {%- do log('opsmart: dropped ' ~ schema ~ ' and ' ~ schema ~ '_staging', info=true) -%}
{%- endmacro %}
