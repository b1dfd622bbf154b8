-- ops.database_health_check() (011) on a Citus cluster: Citus cannot run a
-- distributed table's "exists (select from ...)" (a subquery with no columns:
-- "a column definition list is required for functions returning record"), so
-- `opsmart check` there reported the check itself as failed. The same answer,
-- with one column selected.

create or replace function ops.database_health_check() returns jsonb
language plpgsql stable as $$
begin
    return jsonb_build_object(
        'status', 'healthy',
        'checked_at', now(),
        'server_version', current_setting('server_version'),
        'active_connections', (select count(*) from pg_stat_activity where state = 'active'),
        'database_size_mb', round(pg_database_size(current_database()) / 1024.0 / 1024.0, 1),
        'modules_status', jsonb_build_object(
            'users', exists (select 1 from core.users),
            'organizations', exists (select 1 from ops.organization),
            'prompts', exists (select 1 from core.prompts),
            'analysis', exists (select 1 from ops.analysis_run),
            'judge', exists (select 1 from ops.judge_score),
            'workflows', exists (select 1 from ops.workflow_run),
            'events', exists (select 1 from ops.event),
            'performance', exists (select 1 from ops.query_performance_log),
            'audit', exists (select 1 from ops.audit_log),
            'conversations', exists (select 1 from ops.message)
        )
    );
end
$$;
