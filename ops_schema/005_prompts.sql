-- core: prompts, their relations, and the legacy single-table analysis results.

create table core.prompts (
    id uuid not null default gen_random_uuid(),
    organization_id uuid,
    name varchar(255) not null,
    description text,
    content text not null,
    format_type varchar(50) not null default 'auto',
    language varchar(10) not null default 'auto',
    tags jsonb not null default '[]'::jsonb,
    extra_metadata jsonb not null default '{}'::jsonb,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_prompts primary key (id),
    constraint fk_prompts_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade,
    constraint chk_prompts_format_type check (format_type in ('auto', 'text', 'markdown', 'xml')),
    constraint chk_prompts_tags check (jsonb_typeof(tags) = 'array'),
    constraint chk_prompts_extra_metadata check (jsonb_typeof(extra_metadata) = 'object')
);
create index idx_prompts_organization_id_created_at on core.prompts (organization_id, created_at);
create index idx_prompts_tags on core.prompts using gin (tags);
create index idx_prompts_extra_metadata on core.prompts using gin (extra_metadata);
create index idx_prompts_live on core.prompts (organization_id, updated_at) where deleted_at is null;
create trigger trg_prompts_updated_at before update on core.prompts
for each row execute function ops.set_updated_at();

create table core.prompt_relations (
    id uuid not null default gen_random_uuid(),
    source_id uuid not null,
    target_id uuid not null,
    relation_type varchar(50) not null,
    description text,
    extra_metadata jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    constraint pk_prompt_relations primary key (id),
    constraint fk_prompt_relations_source_id foreign key (source_id)
    references core.prompts (id) on delete cascade,
    constraint fk_prompt_relations_target_id foreign key (target_id)
    references core.prompts (id) on delete cascade,
    constraint chk_prompt_relations_relation_type
    check (relation_type in ('depends_on', 'overrides', 'conflicts_with')),
    constraint chk_prompt_relations_not_self check (source_id <> target_id),
    constraint unq_prompt_relations_source_target_type unique (source_id, target_id, relation_type)
);
create index idx_prompt_relations_target_id on core.prompt_relations (target_id);

create table core.analysis_results (
    id uuid not null default gen_random_uuid(),
    prompt_id uuid,
    prompt_content text not null,
    detected_language varchar(10) not null,
    translated boolean not null default false,
    format_valid boolean not null default true,
    overall_score double precision not null,
    judge_score double precision not null,
    semantic_entropy double precision not null,
    complexity_score double precision not null,
    length_chars integer not null,
    length_words integer not null,
    contradictions jsonb not null default '[]'::jsonb,
    patches jsonb not null default '[]'::jsonb,
    clarify_questions jsonb not null default '[]'::jsonb,
    analysis_extra_metadata jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    constraint pk_analysis_results primary key (id),
    constraint fk_analysis_results_prompt_id foreign key (prompt_id)
    references core.prompts (id) on delete set null,
    constraint chk_analysis_results_overall_score check (overall_score between 0 and 10),
    constraint chk_analysis_results_judge_score check (judge_score between 0 and 10),
    constraint chk_analysis_results_complexity_score check (complexity_score between 0 and 10),
    constraint chk_analysis_results_semantic_entropy check (semantic_entropy >= 0 and semantic_entropy <> 'NaN'),
    constraint chk_analysis_results_length_chars check (length_chars >= 0),
    constraint chk_analysis_results_length_words check (length_words >= 0),
    constraint chk_analysis_results_contradictions check (jsonb_typeof(contradictions) = 'array'),
    constraint chk_analysis_results_patches check (jsonb_typeof(patches) = 'array'),
    constraint chk_analysis_results_clarify_questions check (jsonb_typeof(clarify_questions) = 'array')
);
create index idx_analysis_results_prompt_id on core.analysis_results (prompt_id);
create index idx_analysis_results_created_at on core.analysis_results (created_at);
create index idx_analysis_results_metadata on core.analysis_results using gin (analysis_extra_metadata);
