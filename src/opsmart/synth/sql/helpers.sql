-- The generator's pure functions, made in pg_temp for one session with the seed
-- (mix, prefix), the salts and the vocabulary baked in as constants. The planner
-- inlines them into each statement (and folds pg_temp.salt of a constant), so a
-- draw costs one hash.

-- The salt of a named draw (salts.yaml); an unknown name is an error, not a NULL.
create function pg_temp.salt(name text) returns integer
language plpgsql immutable parallel safe
as $$
declare
    found integer := (%(salts)s::jsonb ->> name)::integer;
begin
    if found is null then
        raise exception 'no salt named %%', name;
    end if;
    return found;
end
$$;

-- Uniform in (0, 1) from a 64-bit hash of the key, the seed and a salt number.
create function pg_temp.h(i bigint, salt integer) returns double precision
language sql immutable parallel safe
return ((hashint8extended(i, %(mix)s + salt) & 9007199254740991)::double precision + 0.5)
/ 9007199254740992.0;

-- The draw named `name` for key i: uniform in (0, 1).
create function pg_temp.u(i bigint, name text) returns double precision
language sql immutable parallel safe
return pg_temp.h(i, pg_temp.salt(name));

-- The same for a text key (mutate picks existing rows by their id).
create function pg_temp.uh(t text, name text) returns double precision
language sql immutable parallel safe
return ((hashtextextended(t, %(mix)s + pg_temp.salt(name)) & 9007199254740991)::double precision + 0.5)
/ 9007199254740992.0;

-- Standard normal (Box-Muller) from the draws salt and salt + 500.
create function pg_temp.z(i bigint, name text) returns double precision
language sql immutable parallel safe
return sqrt(-2 * ln(pg_temp.h(i, pg_temp.salt(name))))
* cos(2 * pi() * pg_temp.h(i, pg_temp.salt(name) + 500));

create function pg_temp.id(kind text, i bigint) returns uuid
language sql stable parallel safe
return md5(%(prefix)s || kind || ':' || i)::uuid;

create function pg_temp.pick(items text[], x double precision) returns text
language sql immutable parallel safe
return items[1 + floor(x * cardinality(items))::integer];

create function pg_temp.score05(x double precision) returns numeric
language sql immutable parallel safe
return least(10, greatest(0, round(x * 2) / 2))::numeric;

-- --- Who and when --------------------------------------------------------------------

-- User j's organization: users 0..orgs-1 found one each, the rest crowd into the first ones.
create function pg_temp.user_org(j bigint, orgs integer) returns integer
language sql immutable parallel safe
return case
    when j < orgs then j::integer
    else floor(orgs * power(pg_temp.u(j, 'user.organization'), 2.5))::integer
end;

create function pg_temp.is_anonymous(j bigint, orgs integer) returns boolean
language sql immutable parallel safe
return j >= orgs and pg_temp.u(j, 'user.anonymous') < 0.05;

create function pg_temp.user_created(j bigint, t0 timestamptz) returns timestamptz
language sql immutable parallel safe
return t0 - interval '24 hours' * (1 + 400 * pg_temp.u(j, 'user.created'));

create function pg_temp.org_created(o bigint, t0 timestamptz) returns timestamptz
language sql immutable parallel safe
return t0 - interval '24 hours' * (410 + 700 * pg_temp.u(o, 'organization.created'));

create function pg_temp.prompts_in_org(o bigint, most integer) returns integer
language sql immutable parallel safe
return greatest(2, round(most / sqrt(o + 1)))::integer;

create function pg_temp.day_start(d integer) returns timestamptz
language sql stable parallel safe
return timestamptz '2000-01-01 00:00:00+00' + d * interval '24 hours';

-- Weekdays busier than weekends, and a gentle growth over the period; mean 1.
create function pg_temp.day_count(
    d integer, per_day double precision, first_day integer, ndays integer
) returns integer
language sql immutable parallel safe
return round(
    per_day
    * case when mod(d + 5, 7) >= 5 then 0.625 else 1.15 end
    * (0.85 + 0.3 * (d - first_day + 0.5) / ndays)
)::integer;

-- Time of day as a fraction: most activity in working hours (06-24 UTC, peak 15), the rest uniform.
create function pg_temp.tod(i bigint, salt integer) returns double precision
language sql immutable parallel safe
return case
    when pg_temp.h(i, salt) < 0.65
        then (6 + 9 * (pg_temp.h(i, salt + 1) + pg_temp.h(i, salt + 2))) / 24
    else pg_temp.h(i, salt + 1)
end;

-- The rows of days d0..d1 (ordinals from 2000-01-01) that fall in [t0, t1): key i and time ts.
-- A day's keys are d * 2^24 + k.
create function pg_temp.slots(
    d0 integer, d1 integer, per_day double precision, first_day integer,
    ndays integer, t0 timestamptz, t1 timestamptz, name text
) returns table (i bigint, ts timestamptz)
language sql stable parallel safe
as $$
    -- offset 0 keeps the subquery: ts is computed once per row, not once per reference.
    select x.i, x.ts
    from (
        select
            d::bigint * 16777216 + k as i,
            pg_temp.day_start(d)
            + pg_temp.tod(d::bigint * 16777216 + k, pg_temp.salt(name)) * interval '24 hours' as ts
        from generate_series(d0, d1) as d
        cross join lateral generate_series(0, pg_temp.day_count(d, per_day, first_day, ndays) - 1) as k
        offset 0
    ) as x
    where x.ts >= t0 and x.ts < t1
$$;

-- --- What: the formulas generate and mutate share --------------------------------------

-- A run's overall score: mostly around 7, a few at the extremes.
create function pg_temp.overall_score(i bigint) returns numeric
language sql immutable parallel safe
return case
    when pg_temp.u(i, 'analysis_run.overall_extreme') < 0.02 then 0
    when pg_temp.u(i, 'analysis_run.overall_extreme') < 0.05 then 10
    else pg_temp.score05(7 + 1.8 * pg_temp.z(i, 'analysis_run.overall'))
end;

create function pg_temp.run_model(i bigint) returns text
language sql immutable parallel safe
return pg_temp.pick(%(models)s::text[], power(pg_temp.u(i, 'analysis_run.model'), 2));

-- The value of a succeeded run's metric (vocabulary run_metrics) for run key i.
create function pg_temp.metric_value(metric text, i bigint, overall numeric) returns numeric
language sql immutable parallel safe
return case metric
    when 'overall_score' then overall
    when 'semantic_entropy' then round((-ln(pg_temp.u(i, 'analysis_metric.semantic_entropy')) * 0.9)::numeric, 4)
    when 'complexity_score' then round((10 * power(pg_temp.u(i, 'analysis_metric.complexity_score'), 0.8))::numeric, 1)
    when 'length_words' then floor(exp(ln(180) + 0.9 * pg_temp.z(i, 'analysis_metric.length_words')))::numeric
end;

-- A judge's score for key i (one per run and criterion): near the run's overall score,
-- now and then a zero or a ten.
create function pg_temp.judge_score(i bigint, overall numeric) returns numeric
language sql immutable parallel safe
return case
    when pg_temp.u(i, 'judge_score.extreme') < 0.015 then 0
    when pg_temp.u(i, 'judge_score.extreme') < 0.04 then 10
    else pg_temp.score05(overall + 1.2 * pg_temp.z(i, 'judge_score.noise'))
end;

create function pg_temp.event_source(i bigint) returns text
language sql immutable parallel safe
return pg_temp.pick(%(sources)s::text[], power(pg_temp.u(i, 'event.source'), 2.2));

create function pg_temp.event_feature(i bigint) returns text
language sql immutable parallel safe
return pg_temp.pick(%(features)s::text[], power(pg_temp.u(i, 'event.feature'), 2));

create function pg_temp.event_client(i bigint) returns text
language sql immutable parallel safe
return pg_temp.pick(%(clients)s::text[], power(pg_temp.u(i, 'event.client'), 2));

-- Query log: which query (a 1-based index into vocabulary queries), where, how long, how many rows.
create function pg_temp.query_index(i bigint) returns integer
language sql immutable parallel safe
return 1 + floor(%(query_count)s * power(pg_temp.u(i, 'query.name'), 1.8))::integer;

create function pg_temp.query_endpoint(i bigint) returns text
language sql immutable parallel safe
return pg_temp.pick(%(endpoints)s::text[], pg_temp.u(i, 'query.endpoint'));

create function pg_temp.query_ok(i bigint) returns boolean
language sql immutable parallel safe
return pg_temp.u(i, 'query.ok') >= 0.02;

-- Log-normal around the query's typical duration, with one in a hundred twenty times slower.
create function pg_temp.query_duration(i bigint, base_ms double precision) returns double precision
language sql immutable parallel safe
return round(
    (
        base_ms * exp(
            1.1 * pg_temp.z(i, 'query.duration')
            + case when pg_temp.u(i, 'query.slow') < 0.01 then 3 else 0 end
        )
    )::numeric,
    3
)::double precision;

create function pg_temp.query_rows(i bigint) returns integer
language sql immutable parallel safe
return case when pg_temp.query_ok(i) then floor(exp(ln(20) + 1.5 * pg_temp.z(i, 'query.rows')))::integer end;

create function pg_temp.message_line(i bigint) returns text
language sql immutable parallel safe
return pg_temp.pick(%(chat_lines)s::text[], pg_temp.u(i, 'message.line'));
