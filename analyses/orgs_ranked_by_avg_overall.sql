-- Organizations ranked by yesterday's average overall score (runs started yesterday, UTC).
select
    organization_id,
    avg_overall
from {{ ref('analysis_daily') }}
where day = {{ opsmart_param('yesterday') }} and avg_overall is not null
order by avg_overall desc, organization_id asc
