-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as judge_criterion_id,
    rubric_id as judge_rubric_id,
    key as criterion_key,
    title,
    weight
from {{ source('ops', 'judge_criterion') }}
