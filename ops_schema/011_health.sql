-- ops.database_health_check(): one jsonb answer for monitors and `opsmart check`.

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
            'users', exists (select from core.users),
            'organizations', exists (select from ops.organization),
            'prompts', exists (select from core.prompts),
            'analysis', exists (select from ops.analysis_run),
            'judge', exists (select from ops.judge_score),
            'workflows', exists (select from ops.workflow_run),
            'events', exists (select from ops.event),
            'performance', exists (select from ops.query_performance_log),
            'audit', exists (select from ops.audit_log),
            'conversations', exists (select from ops.message)
        )
    );
end
$$;

comment on function ops.database_health_check() is
'Status, active connections, database size and per-module row presence.';
