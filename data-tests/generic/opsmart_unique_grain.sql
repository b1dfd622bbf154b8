{#-
    The grain is unique, NULL counting as a value: GROUP BY puts NULLs in one
    group, so two rows differing only by NULL vs NULL are duplicates here
    (unlike dbt's built-in unique, which skips NULLs).
-#}
{% test opsmart_unique_grain(model, columns) %}

with

grouped as (

    select
        {% for column in columns %}{{ column }}, {% endfor %}
        count(*) as duplicate_rows
    from {{ model }}
    group by {% for column in columns %}{{ column }}{{ ", " if not loop.last }}{% endfor %}

)

select * from grouped
where duplicate_rows > 1

{% endtest %}
