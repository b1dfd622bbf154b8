{#- Every non-NULL value matches the POSIX regular expression. -#}
{% test opsmart_matches(model, column_name, pattern) %}

select {{ column_name }} as not_matching
from {{ model }}
where {{ column_name }} !~ '{{ pattern }}'

{% endtest %}
