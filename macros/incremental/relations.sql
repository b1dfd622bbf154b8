{#- Plain SQL for names and values the protocol embeds. -#}

{#-
    An ops table as a plain relation. source() would do, except under
    `dbt build --empty`, which renders every source as an empty subquery: the
    bookkeeping must name the real table.
-#}
{% macro opsmart_ops_relation(name) -%}
    {%- set src = source('ops', name) -%}
    {{- return(api.Relation.create(database=src.database, schema=src.schema, identifier=src.identifier)) -}}
{%- endmacro %}


{#- A string literal, quotes doubled (schema and model names come from the environment). -#}
{% macro opsmart_literal(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}


{% macro opsmart_text_array(values) -%}
    array[{% for v in values %}{{ opsmart_literal(v) }}{{ ", " if not loop.last }}{% endfor %}]::text[]
{%- endmacro %}


{#- This mart's key in ops.mart_build_state. -#}
{% macro opsmart_state_key() -%}
    {{ opsmart_literal(this.schema) }}, {{ opsmart_literal(this.identifier) }}
{%- endmacro %}
