-- core: users, their auth accounts and sessions, prompts and legacy analysis results.

create table core.users (
    id uuid not null default gen_random_uuid(),
    email varchar(255),
    name varchar(255),
    avatar_url varchar(512),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_users primary key (id),
    constraint chk_users_email check (email is null or email like '%_@_%')
);
-- Case-insensitive uniqueness without citext (no contrib extensions).
create unique index unq_users_lower_email on core.users (lower(email));
create trigger trg_users_updated_at before update on core.users
for each row execute function ops.set_updated_at();
comment on table core.users is 'Platform users; email is NULL for anonymous users.';

create table core.auth_accounts (
    id uuid not null default gen_random_uuid(),
    user_id uuid not null,
    provider varchar(32) not null,
    provider_account_id varchar(255) not null,
    -- Tokens are stored only as ciphertext produced by the application.
    access_token_ciphertext bytea,
    refresh_token_ciphertext bytea,
    encryption_key_id varchar(100),
    raw_profile jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_auth_accounts primary key (id),
    constraint fk_auth_accounts_user_id foreign key (user_id)
    references core.users (id) on delete cascade,
    constraint unq_auth_accounts_provider_account unique (provider, provider_account_id),
    constraint chk_auth_accounts_provider check (provider ~ '^[a-z][a-z0-9_-]*$'),
    constraint chk_auth_accounts_key_id check (
        (access_token_ciphertext is null and refresh_token_ciphertext is null)
        or encryption_key_id is not null
    )
);
create index idx_auth_accounts_user_id on core.auth_accounts (user_id);
create trigger trg_auth_accounts_updated_at before update on core.auth_accounts
for each row execute function ops.set_updated_at();

create table core.sessions (
    id uuid not null default gen_random_uuid(),
    user_id uuid not null,
    jwt_id varchar(64) not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    constraint pk_sessions primary key (id),
    constraint fk_sessions_user_id foreign key (user_id)
    references core.users (id) on delete cascade,
    constraint unq_sessions_jwt_id unique (jwt_id),
    constraint chk_sessions_expires_at check (expires_at > created_at)
);
create index idx_sessions_user_id on core.sessions (user_id);
