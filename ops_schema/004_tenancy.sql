-- ops: organizations, membership, API keys and provider credentials.

create table ops.organization (
    id uuid not null default gen_random_uuid(),
    name varchar(255) not null,
    slug varchar(100) not null,
    settings jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_organization primary key (id),
    constraint unq_organization_slug unique (slug),
    constraint chk_organization_slug check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    constraint chk_organization_name check (length(btrim(name)) > 0)
);
create trigger trg_organization_updated_at before update on ops.organization
for each row execute function ops.set_updated_at();
comment on table ops.organization is 'Tenants: teams or companies.';

create table ops.organization_user (
    id uuid not null default gen_random_uuid(),
    organization_id uuid not null,
    user_id uuid not null,
    role varchar(20) not null,
    status varchar(20) not null default 'active',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_organization_user primary key (id),
    constraint fk_organization_user_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade,
    constraint fk_organization_user_user_id foreign key (user_id)
    references core.users (id) on delete cascade,
    constraint unq_organization_user_organization_user unique (organization_id, user_id),
    constraint chk_organization_user_role check (role in ('owner', 'admin', 'member', 'viewer')),
    constraint chk_organization_user_status check (status in ('active', 'invited', 'removed'))
);
create index idx_organization_user_user_id on ops.organization_user (user_id);
create trigger trg_organization_user_updated_at before update on ops.organization_user
for each row execute function ops.set_updated_at();

create table ops.api_key (
    id uuid not null default gen_random_uuid(),
    organization_id uuid not null,
    user_id uuid,
    name varchar(255) not null,
    -- Only a hash of the key is ever stored; the raw key is shown once and forgotten.
    key_hash varchar(255) not null,
    scopes jsonb not null default '[]'::jsonb,
    expires_at timestamptz,
    is_revoked boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_api_key primary key (id),
    constraint fk_api_key_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade,
    constraint fk_api_key_user_id foreign key (user_id)
    references core.users (id) on delete set null,
    constraint unq_api_key_key_hash unique (key_hash),
    constraint chk_api_key_scopes check (jsonb_typeof(scopes) = 'array'),
    -- A hex digest of at least 256 bits: a raw key pasted here is refused.
    constraint chk_api_key_key_hash check (key_hash ~ '^(sha256|sha512|argon2|bcrypt)[$:][A-Za-z0-9$./+=:-]{43,}$')
);
create index idx_api_key_organization_id on ops.api_key (organization_id);
create index idx_api_key_user_id on ops.api_key (user_id);
create trigger trg_api_key_updated_at before update on ops.api_key
for each row execute function ops.set_updated_at();

create table ops.provider_credential (
    id uuid not null default gen_random_uuid(),
    organization_id uuid not null,
    provider varchar(50) not null,
    -- An encrypted reference into the secret store, never the credential itself.
    credential_ref varchar(255) not null,
    encryption_key_id varchar(100) not null,
    meta jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_provider_credential primary key (id),
    constraint fk_provider_credential_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade,
    constraint chk_provider_credential_provider check (provider ~ '^[a-z][a-z0-9_-]*$')
);
create index idx_provider_credential_organization_id on ops.provider_credential (organization_id);
create trigger trg_provider_credential_updated_at before update on ops.provider_credential
for each row execute function ops.set_updated_at();
