{#-
    dbt-postgres's create_schema, through ops.create_mart_schema(): the
    transformer may not create schemas itself (a schema named after a role
    would come first in that role's search_path), so a function that refuses
    such names creates it with the bootstrapper's rights. Staging schemas get
    no reader privileges.
-#}
{% macro postgres__create_schema(relation) -%}
    {%- set name = relation.without_identifier().schema -%}
    {%- call statement('create_schema') -%}
        select ops.create_mart_schema(
            {{ opsmart_literal(name) }},
            {{ opsmart_literal('staging' if name.endswith('_staging') else 'mart') }}
        )
    {%- endcall -%}
{%- endmacro %}
