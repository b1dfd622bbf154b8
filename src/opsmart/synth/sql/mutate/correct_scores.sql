-- A corrected score moves by 0.5 .. 10 points, wrapping within 0..10: never the same value.
update ops.judge_score
set score = mod(score * 2 + 1 + floor(20 * pg_temp.uh(id::text, 'victim.score_shift'))::integer, 21) / 2
where id in (
    select s.id from ops.judge_score as s
    order by pg_temp.uh(s.id::text, 'victim.score')
    limit greatest(1, round(%(fraction)s * (select count(*) from ops.judge_score)))
)
