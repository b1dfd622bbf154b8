{#-
    Marts land in the target schema itself (`mart` by default, see
    profiles.example.yml); other layers in <target schema>_<layer>. A second
    target schema (e.g. a full-refresh copy to compare against) therefore gets
    its own staging views and marts side by side with the first.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if not modules.re.fullmatch('[a-z_][a-z0-9_]{0,54}', target.schema) -%}
        {{ exceptions.raise_compiler_error(
            "opsmart: the target schema (OPSMART_MART_SCHEMA) must be a lowercase schema name "
            ~ "(letters, digits, _; at most 55 characters), got '" ~ target.schema ~ "'") }}
    {%- endif -%}
    {%- if custom_schema_name is none or custom_schema_name == 'mart' -%}
        {{ target.schema }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
