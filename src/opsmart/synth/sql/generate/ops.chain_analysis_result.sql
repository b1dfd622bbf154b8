-- Most ended chain-analysis sessions have their analysis.
select
    c.id as session_id,
    c.organization_id,
    jsonb_build_array(pg_temp.pick(%(vulnerabilities)s, pg_temp.u(c.i, 'chain_analysis.vulnerability')))
        as vulnerabilities,
    jsonb_build_array('trigger', 'thought', 'urge', 'action') as chain_links,
    'procrastination' as problem_behavior,
    'deadline email' as prompting_event,
    'missed review' as consequences,
    jsonb_build_array(pg_temp.pick(%(chain_solutions)s, pg_temp.u(c.i, 'chain_analysis.solution'))) as solutions,
    'Chain of ' || c.messages || ' messages analysed' as summary,
    c.ended_at as created_at,
    c.ended_at as updated_at
from pg_temp.synth_chats as c
where c.type = 'chain_analysis' and c.ended_at is not null and pg_temp.u(c.i, 'chain_analysis.kept') < 0.7
