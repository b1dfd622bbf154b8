-- When a copied row "happens": within the hour before at_time, or, for every tenth
-- picked row when late, 1..20 days before it (a late arrival). k is the row's key,
-- step the spacing of the picked keys (picked keys are multiples of it).
-- In public, not pg_temp: on Citus the statements run on the workers, which see
-- the function only when it is a real (propagated) one.
create or replace function public.bench_moment(
    k bigint, step bigint, at_time timestamptz, late boolean
)
returns timestamptz
language sql
immutable
as $$
    select at_time - case
        when late and mod(k / step, 10) = 0
            then make_interval(
                days => 1 + mod(k / (10 * step), 20)::int, secs => mod(k, 86400)
            )
        else make_interval(secs => mod(mod(k, 3600) * 7919, 3600))
    end
$$
