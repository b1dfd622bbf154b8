{{
    config(
        materialized='table',
        indexes=[{'columns': ['started_at']}],
    )
}}

-- The builds of the last 90 days, node by node: what ran when, how long it
-- took, how it ended, and what each mart rebuilt. Read from the history the
-- on-run-end hook records (ops.build_run, ops.build_node), as it stood when
-- this build began: the running build appears from the next one on.

with

build_runs as (

    select * from {{ source('ops', 'build_run') }}

),

build_nodes as (

    select * from {{ source('ops', 'build_node') }}

),

history as (

    select
        build_runs.invocation_id,
        build_runs.command,
        build_runs.target_schema,
        build_runs.login,
        build_runs.started_at,
        build_runs.ended_at,
        build_runs.status as build_status,
        build_nodes.unique_id,
        build_nodes.name as node_name,
        build_nodes.resource_type,
        build_nodes.status as node_status,
        build_nodes.execution_seconds,
        build_nodes.is_full_refresh,
        build_nodes.buckets_rebuilt,
        build_nodes.groups_rebuilt,
        build_nodes.failures
    from build_runs
    inner join build_nodes
        on build_runs.invocation_id = build_nodes.invocation_id
    where
        build_runs.started_at >= now() - interval '90 days'
        and build_nodes.resource_type in ('model', 'test', 'unit_test', 'seed')

)

select * from history
