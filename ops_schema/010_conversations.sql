-- ops: conversations (chat sessions, messages, one chain analysis per session).
-- LangGraph's checkpointer owns tables named checkpoints, checkpoint_writes,
-- checkpoint_blobs and checkpoint_migrations: we never create those names.

create table ops.chat_session (
    id uuid not null default gen_random_uuid(),
    user_id uuid,
    -- The organization the session's user worked in; NULL for anonymous sessions.
    organization_id uuid,
    type varchar(50) not null default 'chain_analysis',
    started_at timestamptz not null default now(),
    ended_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_chat_session primary key (id),
    constraint fk_chat_session_user_id foreign key (user_id)
    references core.users (id) on delete cascade,
    constraint fk_chat_session_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade,
    constraint chk_chat_session_ended_at check (ended_at >= started_at),
    constraint unq_chat_session_id_organization_id unique (id, organization_id)
);
create index idx_chat_session_organization_id_started_at on ops.chat_session (organization_id, started_at);
create index idx_chat_session_user_id on ops.chat_session (user_id);
create trigger trg_chat_session_updated_at before update on ops.chat_session
for each row execute function ops.set_updated_at();

create table ops.message (
    id bigint generated always as identity,
    session_id uuid not null,
    -- its session's (ops.inherit_organization fills it when left out)
    organization_id uuid,
    role varchar(20) not null,
    content text not null,
    ts timestamptz not null default now(),
    created_at timestamptz not null default now(),
    constraint pk_message primary key (id),
    constraint fk_message_session_id foreign key (session_id)
    references ops.chat_session (id) on delete cascade,
    constraint fk_message_session_id_organization_id foreign key (session_id, organization_id)
    references ops.chat_session (id, organization_id) on update cascade,
    constraint chk_message_role check (role in ('user', 'assistant', 'system', 'tool')),
    constraint chk_message_ts check (isfinite(ts))
);
create index idx_message_session_id_ts on ops.message (session_id, ts);
create index idx_message_ts on ops.message (ts);
create index idx_message_organization_id_ts on ops.message (organization_id, ts);
create trigger trg_message_organization before insert or update of session_id, organization_id
on ops.message
for each row execute function ops.inherit_organization('ops.chat_session', 'session_id');

create table ops.chain_analysis_result (
    session_id uuid not null,
    vulnerabilities jsonb not null default '[]'::jsonb,
    chain_links jsonb not null default '[]'::jsonb,
    problem_behavior text,
    prompting_event text,
    consequences text,
    solutions jsonb not null default '[]'::jsonb,
    summary text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_chain_analysis_result primary key (session_id),
    constraint fk_chain_analysis_result_session_id foreign key (session_id)
    references ops.chat_session (id) on delete cascade
);
create trigger trg_chain_analysis_result_updated_at before update on ops.chain_analysis_result
for each row execute function ops.set_updated_at();

-- Message embeddings only where pgvector exists and we may enable it.
do $$
begin
    if not exists (select from pg_available_extensions where name = 'vector') then
        raise notice 'opsmart: pgvector not available; ops.message has no embedding column';
        return;
    end if;
    begin
        create extension if not exists vector;
    exception when insufficient_privilege then
        raise notice 'opsmart: may not create extension vector; ops.message has no embedding column';
        return;
    end;
    execute 'alter table ops.message add column embedding vector(384)';
    execute 'create index idx_message_embedding on ops.message using hnsw (embedding vector_cosine_ops)';
end
$$;

-- Mart source (see 002_change_tracking.sql): metric_timeseries counts each
-- message in its hour and organization.
select ops.track_mart_source(
    'message', 'ops.message', 'row.ts', 'array[row.organization_id::text]',
    array['organization_id', 'ts']
);
