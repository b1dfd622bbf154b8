"""Deterministic, realistic synthetic ops data, generated inside the server.

Every row is computed by set-based SQL (``insert ... select ... from
generate_series``) in one transaction. Randomness is a pure function of the row:
``hashint8extended(row key, seed + column salt)`` mapped to (0, 1), and uuids are
``md5(seed:kind:key)``. No ``random()``: the same seed and anchor give the same
rows (identity ids included) on any server, whatever plan it picks.

Foreign keys are arithmetic, not joins: user ``j`` belongs to organization
``user_org(j)`` and has uuid ``id('user', j)``, so every table is generated
independently, chunk by chunk of days, and its insert order is deterministic.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import psycopg
from psycopg import sql

from opsmart import connection
from opsmart.errors import UserError

EPOCH = date(2000, 1, 1)  # day ordinals count from here; it was a Saturday
CHUNK_ROWS = 250_000  # rows per statement: big enough to be fast, small enough for a lively bar
# The seed is mixed into 64-bit hashes as seed * 1_000_003 + a 48-bit salt (_install_helpers).
SEED_LIMIT = 9_000_000_000_000


@dataclass(frozen=True)
class Scale:
    """How much data to generate. The defaults are the demo scale."""

    organizations: int = 20
    users: int = 400
    days: int = 60
    events_per_day: int = 2000
    runs_per_day: int = 200

    METRICS_PER_RUN: ClassVar[int] = 4  # overall_score, semantic_entropy, complexity_score, length_words
    JUDGE_CRITERIA: ClassVar[int] = 3
    EVALUATION_METRICS_PER_WORKFLOW_RUN: ClassVar[int] = 3
    EXPERIMENT_RUNS: ClassVar[int] = 4

    # The most of each knob the generator and PostgreSQL can hold, and why.
    LIMITS: ClassVar[dict[str, tuple[int, str]]] = {
        # every user's and organization's uuid travels with each statement as one
        # array value, which PostgreSQL caps at 1 GB
        "organizations": (10_000_000, "their uuids are one array value"),
        "users": (10_000_000, "their uuids are one array value"),
        # ops.ensure_event_partitions makes at most ten years of monthly partitions
        "days": (3_660, "ten years of monthly event partitions"),
        # a day's rows of one kind are keyed day * 2^24 + k, and the busiest day
        # holds 1.3225 times the mean (pg_temp.day_count)
        "events_per_day": (12_000_000, "a day's rows are keyed below 2^24"),
        "runs_per_day": (12_000_000, "a day's rows are keyed below 2^24"),
    }

    def __post_init__(self) -> None:
        for name, (most, why) in self.LIMITS.items():
            value = getattr(self, name)
            if value <= 0:
                raise UserError(f"scale: {name} must be greater than zero")
            if value > most:
                raise UserError(f"scale: {name} must be at most {most:,} ({why}), got {value:,}")

    @property
    def active_users(self) -> int:
        """Users 0..active_users-1 act; the rest (about 10%) signed up and never did anything."""
        return max(1, self.users - self.users // 10)

    @property
    def workflow_runs_per_day(self) -> int:
        return max(1, self.runs_per_day // 4)

    @property
    def chat_sessions_per_day(self) -> int:
        return max(1, self.runs_per_day // 5)

    @property
    def queries_per_day(self) -> int:
        return max(1, self.events_per_day // 4)

    @property
    def audit_entries_per_day(self) -> int:
        return max(1, self.runs_per_day // 10)

    @property
    def max_prompts_per_organization(self) -> int:
        """Prompts of the biggest organization; organization o has about this / sqrt(o + 1)."""
        return max(3, min(500, 2 * self.users // self.organizations))

    @property
    def experiments(self) -> int:
        return 1 + self.organizations // 10

    @classmethod
    def from_args(cls, ns: argparse.Namespace) -> Scale:
        return cls(
            organizations=ns.organizations,
            users=ns.users,
            days=ns.days,
            events_per_day=ns.events_per_day,
            runs_per_day=ns.runs_per_day,
        )

    @classmethod
    def preset(cls, name: str) -> Scale:
        """tiny (tests), demo (default), S (~1M events), M (~10M), L (~100M: for larger machines)."""
        try:
            return PRESETS[name]
        except KeyError:
            raise UserError(f"unknown scale {name!r}: choose one of {', '.join(PRESETS)}") from None


PRESETS: dict[str, Scale] = {
    "tiny": Scale(organizations=6, users=60, days=7, events_per_day=400, runs_per_day=40),
    "demo": Scale(),
    "S": Scale(organizations=50, users=5_000, days=90, events_per_day=11_112, runs_per_day=1_500),
    "M": Scale(organizations=200, users=20_000, days=180, events_per_day=55_556, runs_per_day=7_500),
    # ~100M events and ~13M runs: needs tens of GB of disk and a bigger machine than 2 cores.
    "L": Scale(organizations=1_000, users=100_000, days=365, events_per_day=273_973, runs_per_day=37_000),
}

# Vocabularies, most frequent first: picks use pick(items, u^p) to skew towards the front.
VOCABULARY: dict[str, list[str]] = {
    "org_words": [
        "Acme",
        "Globex",
        "Initech",
        "Umbrella",
        "Hooli",
        "Stark",
        "Wayne",
        "Tyrell",
        "Cyberdyne",
        "Soylent",
        "Wonka",
        "Aperture",
        "Vandelay",
        "Massive",
        "Pied",
        "Oscorp",
        "Nakatomi",
    ],
    "org_suffixes": ["Labs", "Systems", "Analytics", "AI", "Group", "Research", "Health", "Bank", "Media"],
    "first_names": [
        "Ada",
        "Alan",
        "Grace",
        "Linus",
        "Margaret",
        "Dennis",
        "Barbara",
        "Ken",
        "Frances",
        "Edsger",
        "Radia",
        "Donald",
        "Hedy",
        "John",
        "Katherine",
        "Tim",
        "Sophie",
        "Yukihiro",
    ],
    "last_names": [
        "Lovelace",
        "Turing",
        "Hopper",
        "Torvalds",
        "Hamilton",
        "Ritchie",
        "Liskov",
        "Thompson",
        "Allen",
        "Dijkstra",
        "Perlman",
        "Knuth",
        "Lamarr",
        "McCarthy",
        "Johnson",
        "Wilson",
    ],
    "domains": ["example.com", "example.org", "mail.example.net", "corp.example"],
    "auth_providers": ["google", "github", "microsoft", "credentials"],
    "sources": ["web", "api", "sdk", "cli", "slack", "github", "linear", "email"],
    "features": [
        "prompt.analyze",
        "prompt.edit",
        "dashboard.view",
        "prompt.create",
        "judge.run",
        "workflow.run",
        "chat.message",
        "export.csv",
        "api_key.use",
        "prompt.search",
        "experiment.view",
        "prompt.share",
        "settings.update",
        "member.invite",
        "billing.view",
    ],
    "clients": ["web/2.14.0", "web/2.13.2", "python-sdk/1.8.0", "cli/0.9.3", "js-sdk/1.2.1", "slack-app/3.1"],
    "models": [
        "gpt-4o-mini",
        "claude-3-5-sonnet-20241022",
        "gpt-4o",
        "llama-3.1-70b-instruct",
        "mistral-large-2411",
        "gemini-1.5-pro-002",
    ],
    "triggers": ["ui", "api", "schedule", "ci"],
    "formats": ["auto", "markdown", "text", "xml"],
    "languages": ["en", "de", "fr", "es", "ja", "pt"],
    "tags": [
        "support",
        "sales",
        "summarize",
        "extract",
        "classify",
        "translate",
        "code",
        "legal",
        "rag",
        "agent",
    ],
    "prompt_openings": [
        "You are a helpful assistant that",
        "Act as a senior analyst and",
        "Given the context below,",
        "Summarize the following text and",
        "Classify the customer message and",
        "Extract every entity and",
    ],
    "prompt_tasks": [
        "answer in three bullet points.",
        "cite your sources.",
        "respond in JSON.",
        "keep it under 100 words.",
        "explain your reasoning step by step.",
        "ask a clarifying question when unsure.",
    ],
    "relation_types": ["depends_on", "overrides", "conflicts_with"],
    "scopes": ["analysis:read", "analysis:write", "prompts:read", "prompts:write", "events:write"],
    "providers": ["openai", "anthropic", "mistral", "azure-openai", "google-vertex"],
    "chat_lines": [
        "Why does this prompt contradict itself?",
        "Here is the analysis of the chain.",
        "Can you shorten the system message?",
        "The judge flagged an ambiguity in step 2.",
        "Try splitting the task into two prompts.",
        "What changed since the last run?",
    ],
    "query_names": [
        "analysis_runs_by_org",
        "dashboard_summary",
        "event_feed",
        "prompt_search",
        "judge_scores_by_run",
        "org_members",
        "api_key_lookup",
        "metric_timeseries",
        "workflow_status",
        "chat_history",
        "audit_trail",
        "experiment_compare",
        "prompt_versions",
        "usage_export",
        "billing_usage",
        "feature_flags",
        "session_lookup",
        "credential_fetch",
        "node_results",
        "health_probe",
    ],
    "endpoints": [
        "/api/v1/analyses",
        "/api/v1/dashboard",
        "/api/v1/events",
        "/api/v1/prompts",
        "/api/v1/judge",
        "/api/v1/orgs",
        "/api/v1/workflows",
        "/api/v1/chat",
    ],
    "audit_actions": [
        "prompt.updated",
        "api_key.created",
        "member.invited",
        "settings.changed",
        "analysis_run.cancelled",
        "credential.rotated",
        "prompt.deleted",
        "member.removed",
    ],
}
# Typical duration (ms) of each query name: timings are log-normal around it.
QUERY_BASE_MS = [
    8.0,
    45.0,
    12.0,
    120.0,
    6.0,
    4.0,
    2.0,
    250.0,
    15.0,
    20.0,
    60.0,
    400.0,
    10.0,
    900.0,
    150.0,
    1.5,
    3.0,
    5.0,
    25.0,
    0.8,
]

# Pure helper functions, created per transaction in pg_temp with the seed baked in.
_HELPERS = """
create function pg_temp.u(i bigint, k integer) returns double precision
    language sql immutable parallel safe
    return ((hashint8extended(i, {mix} + k) & 9007199254740991)::double precision + 0.5)
        / 9007199254740992.0;

create function pg_temp.z(i bigint, k integer) returns double precision
    language sql immutable parallel safe
    return sqrt(-2 * ln(pg_temp.u(i, k))) * cos(2 * pi() * pg_temp.u(i, k + 500));

create function pg_temp.id(kind text, i bigint) returns uuid
    language sql stable parallel safe
    return md5({prefix} || kind || ':' || i)::uuid;

create function pg_temp.pick(items text[], x double precision) returns text
    language sql immutable parallel safe
    return items[1 + floor(x * cardinality(items))::integer];

create function pg_temp.score05(x double precision) returns numeric
    language sql immutable parallel safe
    return least(10, greatest(0, round(x * 2) / 2))::numeric;

create function pg_temp.user_org(j bigint, orgs integer) returns integer
    language sql immutable parallel safe
    return case when j < orgs then j::integer
                else floor(orgs * power(pg_temp.u(j, 1), 2.5))::integer end;

create function pg_temp.is_anonymous(j bigint, orgs integer) returns boolean
    language sql immutable parallel safe
    return j >= orgs and pg_temp.u(j, 2) < 0.05;

create function pg_temp.user_created(j bigint, t0 timestamptz) returns timestamptz
    language sql immutable parallel safe
    return t0 - interval '24 hours' * (1 + 400 * pg_temp.u(j, 3));

create function pg_temp.org_created(o bigint, t0 timestamptz) returns timestamptz
    language sql immutable parallel safe
    return t0 - interval '24 hours' * (410 + 700 * pg_temp.u(o, 4));

create function pg_temp.prompts_in_org(o bigint, most integer) returns integer
    language sql immutable parallel safe
    return greatest(2, round(most / sqrt(o + 1)))::integer;

create function pg_temp.day_start(d integer) returns timestamptz
    language sql stable parallel safe
    return timestamptz '2000-01-01 00:00:00+00' + d * interval '24 hours';

-- Weekdays busier than weekends, and a gentle growth over the period; mean 1.
create function pg_temp.day_count(d integer, per_day double precision, first_day integer, ndays integer)
    returns integer
    language sql immutable parallel safe
    return round(per_day
        * case when (d + 5) % 7 >= 5 then 0.625 else 1.15 end
        * (0.85 + 0.3 * (d - first_day + 0.5) / ndays))::integer;

-- Time of day as a fraction: most activity in working hours (06-24 UTC, peak 15), the rest uniform.
create function pg_temp.tod(i bigint, salt integer) returns double precision
    language sql immutable parallel safe
    return case when pg_temp.u(i, salt) < 0.65
                then (6 + 9 * (pg_temp.u(i, salt + 1) + pg_temp.u(i, salt + 2))) / 24
                else pg_temp.u(i, salt + 1) end;

-- The rows of days d0..d1 (ordinals from 2000-01-01) that fall in [t0, t1): key i and time ts.
create function pg_temp.slots(d0 integer, d1 integer, per_day double precision, first_day integer,
                              ndays integer, t0 timestamptz, t1 timestamptz, salt integer)
    returns table (i bigint, ts timestamptz)
    language sql stable parallel safe
as $$
    -- offset 0 keeps the subquery: ts is computed once per row, not once per reference.
    select x.i, x.ts
    from (
        select d::bigint * 16777216 + k as i,
               pg_temp.day_start(d)
               + pg_temp.tod(d::bigint * 16777216 + k, salt) * interval '24 hours' as ts
        from generate_series(d0, d1) as d
        cross join lateral generate_series(0, pg_temp.day_count(d, per_day, first_day, ndays) - 1) as k
        offset 0
    ) as x
    where x.ts >= t0 and x.ts < t1
$$;
"""

# Shorthand used in every chunked statement: the slots of this chunk for one kind of row.
_SLOTS = (
    "pg_temp.slots(%(d0)s, %(d1)s, {per_day}, %(first_day)s, %(ndays)s,"
    " %(start)s::timestamptz, %(anchor)s::timestamptz, {salt})"
)


def _slots(per_day: str, salt: int) -> str:
    return _SLOTS.format(per_day=per_day, salt=salt)


# --- Static entities -------------------------------------------------------------------------

_ORGANIZATIONS = """
insert into ops.organization (id, name, slug, settings, created_at, updated_at)
select pg_temp.id('org', o), n.name,
       lower(replace(n.name, ' ', '-')) || '-' || o,
       jsonb_build_object(
           'plan', case when o < 2 then 'enterprise' when pg_temp.u(o, 12) < 0.4 then 'team' else 'free' end,
           'region', pg_temp.pick(array['eu-west-1', 'us-east-1', 'ap-southeast-2'], pg_temp.u(o, 13))),
       pg_temp.org_created(o, %(start)s), pg_temp.org_created(o, %(start)s)
from generate_series(0, %(orgs)s - 1) as o
cross join lateral (
    select pg_temp.pick(%(org_words)s, pg_temp.u(o, 10)) || ' '
           || pg_temp.pick(%(org_suffixes)s, pg_temp.u(o, 11)) as name
) as n
"""

_USERS = """
insert into core.users (id, email, name, avatar_url, created_at, updated_at)
select pg_temp.id('user', j),
       case when not a.anonymous then lower(a.first || '.' || a.last) || j || '@'
                                     || pg_temp.pick(%(domains)s, pg_temp.u(j, 22)) end,
       case when not a.anonymous then a.first || ' ' || a.last end,
       case when not a.anonymous and pg_temp.u(j, 23) < 0.6
            then 'https://avatars.example.com/' || left(md5(j::text), 16) || '.png' end,
       pg_temp.user_created(j, %(start)s), pg_temp.user_created(j, %(start)s)
from generate_series(0, %(users)s - 1) as j
cross join lateral (
    select pg_temp.is_anonymous(j, %(orgs)s) as anonymous,
           pg_temp.pick(%(first_names)s, pg_temp.u(j, 20)) as first,
           pg_temp.pick(%(last_names)s, pg_temp.u(j, 21)) as last
) as a
"""

# Every user is a member of their own organization; some of a second one too.
_MEMBERSHIPS = """
insert into ops.organization_user (id, organization_id, user_id, role, status, created_at, updated_at)
select pg_temp.id('membership', j * 2 + m.n), pg_temp.id('org', m.o), pg_temp.id('user', j),
       case when j < %(orgs)s and m.n = 0 then 'owner'
            when pg_temp.u(j * 2 + m.n, 30) < 0.1 then 'admin'
            when pg_temp.u(j * 2 + m.n, 30) < 0.8 then 'member'
            else 'viewer' end,
       case when j < %(orgs)s and m.n = 0 then 'active'
            when pg_temp.u(j * 2 + m.n, 31) < 0.9 then 'active'
            when pg_temp.u(j * 2 + m.n, 31) < 0.97 then 'invited'
            else 'removed' end,
       m.joined, m.joined
from generate_series(0, %(users)s - 1) as j
cross join lateral (
    values
        (0, pg_temp.user_org(j, %(orgs)s)),
        (1, case when %(orgs)s > 1 and pg_temp.u(j, 32) < 0.15
                 then (pg_temp.user_org(j, %(orgs)s) + 1
                       + floor(pg_temp.u(j, 33) * (%(orgs)s - 1))::integer) %% %(orgs)s end)
) as mm (n, o)
cross join lateral (
    select mm.n, mm.o,
           pg_temp.user_created(j, %(start)s) + interval '1 hour' * (1 + 200 * pg_temp.u(j * 2 + mm.n, 34))
               as joined
) as m
where m.o is not null
"""

_AUTH_ACCOUNTS = """
insert into core.auth_accounts (id, user_id, provider, provider_account_id, access_token_ciphertext,
                                refresh_token_ciphertext, encryption_key_id, raw_profile,
                                created_at, updated_at)
select pg_temp.id('auth', a.i), pg_temp.id('user', a.j), a.provider,
       case when a.provider = 'credentials' then 'user-' || a.j
            else (100000000 + floor(pg_temp.u(a.i, 41) * 899999999))::bigint || '-' || a.i end,
       case when a.provider <> 'credentials'
            then decode(md5(%(seed_text)s || ':access:' || a.i) || md5(%(seed_text)s || ':a2:' || a.i), 'hex')
       end,
       case when a.provider <> 'credentials' and pg_temp.u(a.i, 42) < 0.8
            then decode(md5(%(seed_text)s || ':refresh:' || a.i), 'hex') end,
       case when a.provider <> 'credentials'
            then pg_temp.pick(array['kms:opsmart:2024-01', 'kms:opsmart:2025-01'], pg_temp.u(a.i, 43)) end,
       jsonb_build_object('locale', pg_temp.pick(array['en-US', 'de-DE', 'fr-FR', 'ja-JP'],
                                                 pg_temp.u(a.i, 44))),
       pg_temp.user_created(a.j, %(start)s), pg_temp.user_created(a.j, %(start)s)
from (
    select j * 2 + n as i, j,
           pg_temp.pick(%(auth_providers)s, (n + pg_temp.u(j, 40)) / 2) as provider
    from generate_series(0, %(users)s - 1) as j
    cross join generate_series(0, 1) as n
    where not pg_temp.is_anonymous(j, %(orgs)s) and (n = 0 or pg_temp.u(j, 45) < 0.2)
) as a
"""

_SESSIONS = """
insert into core.sessions (id, user_id, jwt_id, created_at, expires_at)
select pg_temp.id('session', s.i), pg_temp.id('user', s.j), md5(%(seed_text)s || ':jwt:' || s.i),
       s.created, s.created + interval '30 days'
from (
    select j * 16 + n as i, j,
           %(start)s::timestamptz + (%(anchor)s::timestamptz - %(start)s::timestamptz)
               * pg_temp.u(j * 16 + n, 50) as created
    from generate_series(0, %(users)s - 1) as j
    cross join lateral generate_series(0, floor(5 * pg_temp.u(j, 51))::integer) as n
    where not pg_temp.is_anonymous(j, %(orgs)s)
) as s
"""

_API_KEYS = """
insert into ops.api_key (id, organization_id, user_id, name, key_hash, scopes, expires_at, is_revoked,
                         created_at, updated_at)
select pg_temp.id('api_key', k.i), pg_temp.id('org', k.o),
       case when k.o < %(users)s then pg_temp.id('user', k.o) end,
       pg_temp.pick(array['ci', 'backend', 'notebook', 'zapier', 'staging'], pg_temp.u(k.i, 60))
           || '-' || k.n,
       'sha256$' || encode(sha256(convert_to(%(seed_text)s || ':api_key:' || k.i, 'UTF8')), 'hex'),
       jsonb_build_array(pg_temp.pick(%(scopes)s, pg_temp.u(k.i, 61)),
                         pg_temp.pick(%(scopes)s, pg_temp.u(k.i, 62))),
       case when pg_temp.u(k.i, 63) < 0.5 then k.created + interval '365 days' end,
       pg_temp.u(k.i, 64) < 0.1,
       k.created, k.created
from (
    select o * 64 + n as i, o, n,
           pg_temp.org_created(o, %(start)s) + interval '24 hours' * (400 * pg_temp.u(o * 64 + n, 65))
               as created
    from generate_series(0, %(orgs)s - 1) as o
    cross join lateral generate_series(0, floor(3 * pg_temp.u(o, 66))::integer
                                          + case when o < 3 then 3 else 0 end) as n
) as k
"""

_PROVIDER_CREDENTIALS = """
insert into ops.provider_credential (id, organization_id, provider, credential_ref, encryption_key_id, meta,
                                     created_at, updated_at)
select pg_temp.id('credential', o * 8 + p.n), pg_temp.id('org', o), p.provider,
       'enc:v1:' || encode(sha256(convert_to(%(seed_text)s || ':credential:' || (o * 8 + p.n), 'UTF8')),
                           'base64'),
       'kms:opsmart:2025-01',
       jsonb_build_object('default_model', pg_temp.pick(%(models)s, pg_temp.u(o * 8 + p.n, 70))),
       pg_temp.org_created(o, %(start)s) + interval '2 days',
       pg_temp.org_created(o, %(start)s) + interval '2 days'
from generate_series(0, %(orgs)s - 1) as o
cross join lateral (
    select n - 1 as n, provider, chance
    from unnest(%(providers)s::text[], array[1.0, 0.5, 0.2, 0.1, 0.1])
        with ordinality as x (provider, chance, n)
) as p
where pg_temp.u(o * 8 + p.n, 71) < p.chance
"""

_PROMPTS = """
insert into core.prompts (id, organization_id, name, description, content, format_type, language, tags,
                          extra_metadata, deleted_at, created_at, updated_at)
select pg_temp.id('prompt', p.i), pg_temp.id('org', p.o),
       pg_temp.pick(%(tags)s, pg_temp.u(p.i, 80)) || ' prompt ' || p.k,
       case when pg_temp.u(p.i, 81) < 0.5 then 'Owned by team ' || (p.k %% 5) end,
       pg_temp.pick(%(prompt_openings)s, pg_temp.u(p.i, 82)) || ' '
           || pg_temp.pick(%(prompt_tasks)s, pg_temp.u(p.i, 83)),
       pg_temp.pick(%(formats)s, power(pg_temp.u(p.i, 84), 2)),
       pg_temp.pick(%(languages)s, power(pg_temp.u(p.i, 85), 3)),
       jsonb_build_array(pg_temp.pick(%(tags)s, pg_temp.u(p.i, 86)))
           || case when pg_temp.u(p.i, 87) < 0.5
                   then jsonb_build_array(pg_temp.pick(%(tags)s, pg_temp.u(p.i, 88))) else '[]' end,
       jsonb_build_object('version', 1 + floor(6 * pg_temp.u(p.i, 89))::integer),
       case when p.deleted then p.created + interval '24 hours' * (1 + 30 * pg_temp.u(p.i, 90)) end,
       p.created,
       case when p.deleted then p.created + interval '24 hours' * (1 + 30 * pg_temp.u(p.i, 90))
            else p.created end
from (
    select o * 100000 + k as i, o, k,
           %(start)s::timestamptz - interval '24 hours' * (60 + 300 * pg_temp.u(o * 100000 + k, 91))
               as created,
           pg_temp.u(o * 100000 + k, 92) < 0.05 as deleted
    from generate_series(0, %(orgs)s - 1) as o
    cross join lateral generate_series(0, pg_temp.prompts_in_org(o, %(max_prompts)s) - 1) as k
) as p
"""

_PROMPT_RELATIONS = """
insert into core.prompt_relations (id, source_id, target_id, relation_type, description, created_at)
select pg_temp.id('prompt_relation', o * 100000 + k), pg_temp.id('prompt', o * 100000 + k),
       pg_temp.id('prompt', o * 100000 + k - 1),
       pg_temp.pick(%(relation_types)s, power(pg_temp.u(o * 100000 + k, 100), 2)),
       case when pg_temp.u(o * 100000 + k, 101) < 0.3 then 'found by the analyzer' end,
       %(start)s::timestamptz - interval '24 hours' * (10 * pg_temp.u(o * 100000 + k, 102))
from generate_series(0, %(orgs)s - 1) as o
cross join lateral generate_series(1, pg_temp.prompts_in_org(o, %(max_prompts)s) - 1) as k
where pg_temp.u(o * 100000 + k, 103) < 0.3
"""

_ANALYSIS_RESULTS = """
insert into core.analysis_results (id, prompt_id, prompt_content, detected_language, translated, format_valid,
                                   overall_score, judge_score, semantic_entropy, complexity_score,
                                   length_chars, length_words, contradictions, patches, clarify_questions,
                                   analysis_extra_metadata, created_at)
select pg_temp.id('analysis_result', i), pg_temp.id('prompt', i),
       pg_temp.pick(%(prompt_openings)s, pg_temp.u(i, 82)) || ' '
           || pg_temp.pick(%(prompt_tasks)s, pg_temp.u(i, 83)),
       pg_temp.pick(%(languages)s, power(pg_temp.u(i, 85), 3)),
       pg_temp.u(i, 110) < 0.1, pg_temp.u(i, 111) < 0.95,
       pg_temp.score05(7 + 1.8 * pg_temp.z(i, 112)), pg_temp.score05(7 + 1.5 * pg_temp.z(i, 113)),
       round((-ln(pg_temp.u(i, 114)) * 0.9)::numeric, 4), round((10 * pg_temp.u(i, 115))::numeric, 1),
       floor(exp(ln(900) + 0.8 * pg_temp.z(i, 116)))::integer,
       floor(exp(ln(150) + 0.8 * pg_temp.z(i, 116)))::integer,
       case when pg_temp.u(i, 117) < 0.2 then '[{"between": [1, 3]}]'::jsonb else '[]' end,
       '[]', '[]', jsonb_build_object('engine', 'legacy'),
       %(start)s::timestamptz - interval '24 hours' * (20 * pg_temp.u(i, 118))
from (
    select o * 100000 + k as i
    from generate_series(0, %(orgs)s - 1) as o
    cross join lateral generate_series(0, pg_temp.prompts_in_org(o, %(max_prompts)s) - 1) as k
) as p
where pg_temp.u(i, 119) < 0.5
"""

_EXPERIMENTS = """
insert into ops.experiment (id, organization_id, name, hypothesis, configuration, created_by,
                            created_at, updated_at)
select pg_temp.id('experiment', e), pg_temp.id('org', e %% %(orgs)s),
       'experiment-' || e || '-' || pg_temp.pick(%(tags)s, pg_temp.u(e, 120)),
       'A stricter rubric lowers semantic entropy without hurting overall scores.',
       jsonb_build_object('temperature', round((pg_temp.u(e, 121))::numeric, 2), 'rubric', 'default'),
       case when e %% %(orgs)s < %(users)s then pg_temp.id('user', e %% %(orgs)s) end,
       %(start)s::timestamptz - interval '7 days', %(start)s::timestamptz - interval '7 days'
from generate_series(0, %(experiments)s - 1) as e
"""

_EXPERIMENT_RUNS = """
insert into ops.experiment_run (id, experiment_id, prompt_version, framework_version, llm_model,
                                configuration, started_at, finished_at, created_at, updated_at)
select pg_temp.id('experiment_run', e * 4 + n), pg_temp.id('experiment', e),
       'v1.' || n, '0.9.' || (n + 1), pg_temp.pick(%(models)s, pg_temp.u(e * 4 + n, 130)),
       jsonb_build_object('seed', n), r.started, r.started + interval '3 hours',
       r.started, r.started + interval '3 hours'
from generate_series(0, %(experiments)s - 1) as e
cross join generate_series(0, 3) as n
cross join lateral (
    select %(start)s::timestamptz + interval '24 hours' * (n + 1) as started
) as r
"""

_RUBRIC = """
insert into ops.judge_rubric (id, organization_id, name, description, meta, created_at, updated_at)
values (pg_temp.id('rubric', 0), null, 'default', 'Default LLM-as-judge rubric',
        '{"version": 2}', %(start)s::timestamptz - interval '30 days',
        %(start)s::timestamptz - interval '30 days')
"""

_CRITERIA = """
insert into ops.judge_criterion (id, rubric_id, key, title, description, weight, created_at, updated_at)
select pg_temp.id('criterion', n - 1), pg_temp.id('rubric', 0), c.key, initcap(c.key),
       'Scores the ' || c.key || ' of the answer', c.weight,
       %(start)s::timestamptz - interval '30 days', %(start)s::timestamptz - interval '30 days'
from unnest(array['correctness', 'clarity', 'safety'], array[2.0, 1.0, 1.5])
    with ordinality as c (key, weight, n)
"""

# --- Analysis runs and their children (recomputed from the same row key) -------------------

# In-flight runs are the recent ones: queued in the last `window`, running in the two before.
_RUNS_CTE = (
    """
runs0 as (
    select s.i, s.ts,
           pg_temp.u(s.i, 201) < 0.05 as anonymous,
           floor(%(active)s * power(pg_temp.u(s.i, 202), 2))::bigint as j,
           pg_temp.u(s.i, 203) as us,
           %(anchor)s::timestamptz - s.ts as age,
           interval '24 hours' * greatest(0.0104, 4.0 / %(runs_per_day)s) as win
    from """
    + _slots("%(runs_per_day)s", 210)
    + """ as s
    offset 0
),
runs1 as (
    select r.i, r.ts, r.anonymous, r.j,
           case when r.anonymous then null else pg_temp.user_org(r.j, %(orgs)s) end as o,
           case when r.age < r.win then 'queued'
                when r.age < 3 * r.win and r.us < 0.8 then 'running'
                when r.us < 0.82 then 'succeeded'
                when r.us < 0.93 then 'failed'
                else 'cancelled' end as status,
           r.ts + interval '1 second' * (0.5 + exp(ln(2) + pg_temp.z(r.i, 204))) as start_at,
           interval '1 second' * exp(ln(20) + 0.8 * pg_temp.z(r.i, 205)) as duration,
           case when pg_temp.u(r.i, 206) < 0.02 then 0
                when pg_temp.u(r.i, 206) < 0.05 then 10
                else pg_temp.score05(7 + 1.8 * pg_temp.z(r.i, 207)) end as overall
    from runs0 as r
    offset 0
),
runs as (
    select r.i, pg_temp.id('run', r.i) as id, r.anonymous, r.j, r.o, r.status, r.overall,
           r.ts as created_at, t.started_at,
           case when r.status in ('succeeded', 'failed') or t.started_at is not null
                                                          and r.status = 'cancelled'
                then least(t.started_at + r.duration, %(anchor)s::timestamptz) end as finished_at
    from runs1 as r
    cross join lateral (
        select case when r.status = 'queued' then null
                    when r.status = 'cancelled' and pg_temp.u(r.i, 208) < 0.3 then null
                    else least(r.start_at, %(anchor)s::timestamptz) end as started_at
    ) as t
    offset 0
)
"""
)

_ANALYSIS_RUNS = (
    "with "
    + _RUNS_CTE
    + """
insert into ops.analysis_run (id, organization_id, user_id, prompt_id, experiment_run_id, llm_model, status,
                              started_at, finished_at, meta, created_at, updated_at)
select r.id,
       case when not r.anonymous then (%(org_ids)s::uuid[])[r.o + 1] end,
       case when not r.anonymous then (%(user_ids)s::uuid[])[r.j + 1] end,
       case when not r.anonymous and pg_temp.u(r.i, 220) >= 0.1
            then pg_temp.id('prompt', r.o::bigint * 100000
                 + floor(pg_temp.u(r.i, 221) * pg_temp.prompts_in_org(r.o, %(max_prompts)s))::bigint) end,
       case when r.o = 0 and pg_temp.u(r.i, 222) < 0.05
            then pg_temp.id('experiment_run', floor(4 * pg_temp.u(r.i, 223))::bigint) end,
       pg_temp.pick(%(models)s, power(pg_temp.u(r.i, 224), 2)),
       r.status, r.started_at, r.finished_at,
       jsonb_build_object('trigger', pg_temp.pick(%(triggers)s, power(pg_temp.u(r.i, 225), 2)),
                          'tokens', floor(exp(ln(1500) + 0.7 * pg_temp.z(r.i, 226)))::integer)
           || case when r.status = 'failed'
                   then jsonb_build_object('error', pg_temp.pick(
                            array['provider_timeout', 'rate_limited', 'invalid_output', 'context_overflow'],
                            pg_temp.u(r.i, 227)))
                   else '{}' end,
       r.created_at, coalesce(r.finished_at, r.started_at, r.created_at)
from runs as r
"""
)

_ANALYSIS_METRICS = (
    "with "
    + _RUNS_CTE
    + """
insert into ops.analysis_metric (analysis_run_id, organization_id, key, value_num, created_at)
select r.id, case when not r.anonymous then (%(org_ids)s::uuid[])[r.o + 1] end, m.key,
       case m.n
           when 1 then r.overall
           when 2 then round((-ln(pg_temp.u(r.i, 230)) * 0.9)::numeric, 4)
           when 3 then round((10 * power(pg_temp.u(r.i, 231), 0.8))::numeric, 1)
           else floor(exp(ln(180) + 0.9 * pg_temp.z(r.i, 232)))::numeric
       end,
       r.finished_at
from runs as r
cross join unnest(array['overall_score', 'semantic_entropy', 'complexity_score', 'length_words'])
    with ordinality as m (key, n)
where r.status = 'succeeded'
"""
)

_JUDGE_SCORES = (
    "with "
    + _RUNS_CTE
    + """
insert into ops.judge_score (analysis_run_id, organization_id, criterion_id, score, comment, evidence,
                             created_at, updated_at)
select r.id, case when not r.anonymous then (%(org_ids)s::uuid[])[r.o + 1] end, pg_temp.id('criterion', c.n),
       case when pg_temp.u(r.i * 4 + c.n, 240) < 0.015 then 0
            when pg_temp.u(r.i * 4 + c.n, 240) < 0.04 then 10
            else pg_temp.score05(r.overall + 1.2 * pg_temp.z(r.i * 4 + c.n, 241)) end,
       case when pg_temp.u(r.i * 4 + c.n, 242) < 0.3
            then pg_temp.pick(array['clear and correct', 'misses an edge case', 'ambiguous instruction',
                                    'unsafe suggestion removed'], pg_temp.u(r.i * 4 + c.n, 243)) end,
       jsonb_build_object('judge_model', 'gpt-4o'),
       c.at, c.at
from runs as r
cross join generate_series(0, 2) as n
cross join lateral (
    select n as n,
           least(r.finished_at + interval '1 second' * (2 + 28 * pg_temp.u(r.i * 4 + n, 244)),
                 %(anchor)s::timestamptz) as at
) as c
where r.status = 'succeeded'
"""
)

_NODE_RESULTS = (
    "with "
    + _RUNS_CTE
    + """
insert into ops.analysis_node_result (analysis_run_id, node, status, score, details, created_at)
select r.id, n.node,
       case when r.status = 'failed' and n.k = 3 then 'error'
            when pg_temp.u(r.i * 4 + n.k, 250) < 0.8 then 'ok'
            when pg_temp.u(r.i * 4 + n.k, 250) < 0.95 then 'warn'
            else 'fail' end,
       case when r.status = 'succeeded' then pg_temp.score05(r.overall + pg_temp.z(r.i * 4 + n.k, 251)) end,
       '{}', r.finished_at
from runs as r
cross join unnest(array['parse', 'semantic', 'judge']) with ordinality as n (node, k)
where r.finished_at is not null and pg_temp.u(r.i, 252) < 0.25
"""
)

# --- Workflow runs, nodes and evaluation metrics ---------------------------------------------

_WORKFLOW_CTE = (
    """
wf as (
    select s.i, pg_temp.id('workflow_run', s.i) as id, s.ts as started_at,
           pg_temp.u(s.i, 301) < 0.05 as anonymous,
           floor(%(active)s * power(pg_temp.u(s.i, 302), 2))::bigint as j,
           case when %(anchor)s::timestamptz - s.ts
                     < interval '24 hours' * greatest(0.03, 8.0 / %(workflow_runs_per_day)s) then 'running'
                when pg_temp.u(s.i, 303) < 0.88 then 'success'
                when pg_temp.u(s.i, 303) < 0.96 then 'failed'
                else 'cancelled' end as status,
           interval '1 second' * exp(ln(40) + 0.7 * pg_temp.z(s.i, 304)) as duration
    from """
    + _slots("%(workflow_runs_per_day)s", 310)
    + """ as s
    offset 0
),
wfr as (
    select w.*,
           case when w.status <> 'running'
                then least(w.started_at + w.duration, %(anchor)s::timestamptz) end as finished_at
    from wf as w
    offset 0
)
"""
)

_WORKFLOW_RUNS = (
    "with "
    + _WORKFLOW_CTE
    + """
insert into ops.workflow_run (id, organization_id, user_id, status, started_at, finished_at, meta,
                              created_at, updated_at)
select w.id,
       case when not w.anonymous then (%(user_org_ids)s::uuid[])[w.j + 1] end,
       case when not w.anonymous then (%(user_ids)s::uuid[])[w.j + 1] end,
       w.status, w.started_at, w.finished_at,
       jsonb_build_object('graph', pg_temp.pick(array['rag_eval', 'prompt_chain', 'judge_panel'],
                                                pg_temp.u(w.i, 320))),
       w.started_at, coalesce(w.finished_at, w.started_at)
from wfr as w
"""
)

# Nodes run in sequence; a running run is in its second node, a failed one failed in its last.
_WORKFLOW_NODES = (
    "with "
    + _WORKFLOW_CTE
    + """
insert into ops.workflow_node (id, run_id, key, status, started_at, finished_at, result,
                               created_at, updated_at)
select pg_temp.id('workflow_node', w.i * 4 + n.k), w.id, n.key, x.status,
       case when x.status <> 'pending' then x.t0 end,
       case when x.status in ('success', 'failed') then x.t1 end,
       case when x.status = 'success' then jsonb_build_object('tokens', 100 * n.k) end,
       w.started_at, coalesce(w.finished_at, w.started_at)
from wfr as w
cross join unnest(array['retrieve', 'analyze', 'judge']) with ordinality as n (key, k)
cross join lateral (
    select case w.status
               when 'running' then (array['success', 'running', 'pending'])[n.k]
               when 'failed' then (array['success', 'success', 'failed'])[n.k]
               when 'cancelled' then (array['success', 'pending', 'pending'])[n.k]
               else 'success' end as status,
           least(w.started_at + w.duration * (n.k - 1) / 3, %(anchor)s::timestamptz) as t0,
           least(w.started_at + w.duration * n.k / 3, %(anchor)s::timestamptz) as t1
) as x
"""
)

_EVALUATION_METRICS = (
    "with "
    + _WORKFLOW_CTE
    + """
insert into ops.evaluation_metric (run_id, organization_id, node_key, metric_name, metric_value, metric_meta,
                                   created_at)
select w.id, case when not w.anonymous then (%(user_org_ids)s::uuid[])[w.j + 1] end, m.node_key, m.name,
       case m.name
           when 'latency_s' then round(extract(epoch from w.duration)::numeric, 3)::double precision
           else round(power(pg_temp.u(w.i * 4 + m.n, 330), 0.35)::numeric, 4)::double precision end,
       case when m.name = 'faithfulness' then jsonb_build_object('evaluator', 'ragas') end,
       w.finished_at
from wfr as w
cross join unnest(array['faithfulness', 'answer_relevance', 'latency_s'], array['judge', 'judge', 'analyze'])
    with ordinality as m (name, node_key, n)
where w.status in ('success', 'failed')
"""
)

# --- Events, query log, conversations, audit --------------------------------------------------

# 10% of events arrive late (1 hour .. 4 days after they occurred), the rest within seconds;
# nothing is received after the anchor.
_EVENTS = (
    """
insert into ops.event (organization_id, user_id, source, feature_key, occurred_at, received_at, payload,
                       created_at)
select (%(user_org_ids)s::uuid[])[e.j + 1],
       case when pg_temp.u(e.i, 402) >= 0.03 then (%(user_ids)s::uuid[])[e.j + 1] end,
       pg_temp.pick(%(sources)s, power(pg_temp.u(e.i, 403), 2.2)),
       pg_temp.pick(%(features)s, power(pg_temp.u(e.i, 404), 2)),
       e.ts, e.received,
       jsonb_build_object('client', pg_temp.pick(%(clients)s, power(pg_temp.u(e.i, 405), 2)),
                          'ms', floor(exp(ln(80) + pg_temp.z(e.i, 406)))::integer),
       e.received
from (
    select s.i, s.ts,
           floor(%(active)s * power(pg_temp.u(s.i, 401), 2))::bigint as j,
           s.ts + least(
               case when pg_temp.u(s.i, 407) < 0.1
                    then interval '1 hour' * exp(ln(96) * pg_temp.u(s.i, 408))
                    else interval '1 second' * (0.2 + 30 * power(pg_temp.u(s.i, 408), 3)) end,
               (%(anchor)s::timestamptz - s.ts) * 0.999) as received
    from """
    + _slots("%(events_per_day)s", 410)
    + """ as s
    offset 0
) as e
"""
)

_QUERY_LOG = (
    """
insert into ops.query_performance_log (query_name, endpoint, organization_id, duration_ms, rows_returned, ok,
                                       measured_at, created_at)
select (%(query_names)s::text[])[q.n + 1],
       pg_temp.pick(%(endpoints)s, pg_temp.u(q.i, 501)),
       case when pg_temp.u(q.i, 502) >= 0.1
            then (%(user_org_ids)s::uuid[])[floor(%(active)s * power(pg_temp.u(q.i, 503), 2))::bigint + 1]
       end,
       round(((%(query_base_ms)s::double precision[])[q.n + 1]
              * exp(1.1 * pg_temp.z(q.i, 504)
                    + case when pg_temp.u(q.i, 505) < 0.01 then 3 else 0 end))::numeric, 3)::double precision,
       case when q.ok then floor(exp(ln(20) + 1.5 * pg_temp.z(q.i, 506)))::integer end,
       q.ok, q.ts, q.ts
from (
    select s.i, s.ts,
           floor(cardinality(%(query_names)s::text[]) * power(pg_temp.u(s.i, 507), 1.8))::integer as n,
           pg_temp.u(s.i, 508) >= 0.02 as ok
    from """
    + _slots("%(queries_per_day)s", 510)
    + """ as s
    offset 0
) as q
"""
)

_CHAT_CTE = (
    """
chats as (
    select s.i, pg_temp.id('chat', s.i) as id, s.ts as started_at,
           pg_temp.u(s.i, 601) < 0.1 as anonymous,
           floor(%(active)s * power(pg_temp.u(s.i, 602), 2))::bigint as j,
           case when pg_temp.u(s.i, 603) < 0.6 then 'chain_analysis' else 'chat' end as type,
           2 + floor(11 * pg_temp.u(s.i, 604))::integer as messages,
           interval '1 second' * (5 + 120 * pg_temp.u(s.i, 605)) as gap
    from """
    + _slots("%(chat_sessions_per_day)s", 610)
    + """ as s
    offset 0
),
chat as (
    select c.*,
           case when c.started_at + c.gap * c.messages + interval '30 minutes' < %(anchor)s::timestamptz
                then c.started_at + c.gap * c.messages end as ended_at
    from chats as c
    offset 0
)
"""
)

_CHAT_SESSIONS = (
    "with "
    + _CHAT_CTE
    + """
insert into ops.chat_session (id, user_id, organization_id, type, started_at, ended_at,
                              created_at, updated_at)
select c.id,
       case when not c.anonymous then (%(user_ids)s::uuid[])[c.j + 1] end,
       case when not c.anonymous then (%(user_org_ids)s::uuid[])[c.j + 1] end,
       c.type, c.started_at, c.ended_at, c.started_at, coalesce(c.ended_at, c.started_at)
from chat as c
"""
)

_MESSAGES = (
    "with "
    + _CHAT_CTE
    + """
insert into ops.message (session_id, organization_id, role, content, ts, created_at)
select c.id,
       case when not c.anonymous then (%(user_org_ids)s::uuid[])[c.j + 1] end,
       case when m = 0 then case when pg_temp.u(c.i, 620) < 0.3 then 'system' else 'user' end
            when m %% 2 = 1 then case when pg_temp.u(c.i * 16 + m, 621) < 0.1 then 'tool' else 'assistant' end
            else 'user' end,
       pg_temp.pick(%(chat_lines)s, pg_temp.u(c.i * 16 + m, 622)),
       x.ts, x.ts
from chat as c
cross join lateral generate_series(0, c.messages - 1) as m
cross join lateral (select c.started_at + c.gap * m as ts) as x
where x.ts < %(anchor)s::timestamptz
"""
)

_CHAIN_RESULTS = (
    "with "
    + _CHAT_CTE
    + """
insert into ops.chain_analysis_result (session_id, vulnerabilities, chain_links, problem_behavior,
                                       prompting_event, consequences, solutions, summary,
                                       created_at, updated_at)
select c.id,
       jsonb_build_array(pg_temp.pick(array['stress', 'fatigue', 'isolation'], pg_temp.u(c.i, 630))),
       jsonb_build_array('trigger', 'thought', 'urge', 'action'),
       'procrastination', 'deadline email', 'missed review',
       jsonb_build_array(pg_temp.pick(array['break task down', 'schedule focus time', 'ask for help'],
                                      pg_temp.u(c.i, 631))),
       'Chain of ' || c.messages || ' messages analysed',
       c.ended_at, c.ended_at
from chat as c
where c.type = 'chain_analysis' and c.ended_at is not null and pg_temp.u(c.i, 632) < 0.7
"""
)

_AUDIT_ORGS = """
insert into ops.audit_log (ts, actor_user_id, organization_id, action, entity_type, entity_id, before_state,
                           after_state, created_at)
select pg_temp.org_created(o, %(start)s),
       case when o < %(users)s then pg_temp.id('user', o) end,
       pg_temp.id('org', o), 'organization.created', 'organization', pg_temp.id('org', o)::text,
       null, jsonb_build_object('index', o),
       pg_temp.org_created(o, %(start)s)
from generate_series(0, %(orgs)s - 1) as o
"""

_AUDIT = (
    """
insert into ops.audit_log (ts, actor_user_id, organization_id, action, entity_type, entity_id, before_state,
                           after_state, created_at)
select a.ts, (%(user_ids)s::uuid[])[a.j + 1], (%(user_org_ids)s::uuid[])[a.j + 1], a.action,
       split_part(a.action, '.', 1), pg_temp.id('audited', a.i)::text,
       jsonb_build_object('state', 'before'), jsonb_build_object('state', 'after'), a.ts
from (
    select s.i, s.ts, floor(%(active)s * power(pg_temp.u(s.i, 701), 2))::bigint as j,
           pg_temp.pick(%(audit_actions)s, power(pg_temp.u(s.i, 702), 1.5)) as action
    from """
    + _slots("%(audit_entries_per_day)s", 710)
    + """ as s
) as a
"""
)


@dataclass(frozen=True)
class _Step:
    table: str
    statement: str
    rows_per_day: float = 0.0  # > 0: chunked by days, about this many rows per day


def _steps(scale: Scale) -> list[_Step]:
    runs = scale.runs_per_day
    workflows = scale.workflow_runs_per_day
    chats = scale.chat_sessions_per_day
    return [
        _Step("ops.organization", _ORGANIZATIONS),
        _Step("core.users", _USERS),
        _Step("ops.organization_user", _MEMBERSHIPS),
        _Step("core.auth_accounts", _AUTH_ACCOUNTS),
        _Step("core.sessions", _SESSIONS),
        _Step("ops.api_key", _API_KEYS),
        _Step("ops.provider_credential", _PROVIDER_CREDENTIALS),
        _Step("core.prompts", _PROMPTS),
        _Step("core.prompt_relations", _PROMPT_RELATIONS),
        _Step("core.analysis_results", _ANALYSIS_RESULTS),
        _Step("ops.experiment", _EXPERIMENTS),
        _Step("ops.experiment_run", _EXPERIMENT_RUNS),
        _Step("ops.judge_rubric", _RUBRIC),
        _Step("ops.judge_criterion", _CRITERIA),
        _Step("ops.analysis_run", _ANALYSIS_RUNS, runs),
        _Step("ops.analysis_metric", _ANALYSIS_METRICS, runs * 0.8 * Scale.METRICS_PER_RUN),
        _Step("ops.judge_score", _JUDGE_SCORES, runs * 0.8 * Scale.JUDGE_CRITERIA),
        _Step("ops.analysis_node_result", _NODE_RESULTS, runs * 0.25 * 3),
        _Step("ops.workflow_run", _WORKFLOW_RUNS, workflows),
        _Step("ops.workflow_node", _WORKFLOW_NODES, workflows * 3),
        _Step(
            "ops.evaluation_metric",
            _EVALUATION_METRICS,
            workflows * Scale.EVALUATION_METRICS_PER_WORKFLOW_RUN,
        ),
        _Step("ops.event", _EVENTS, scale.events_per_day),
        _Step("ops.query_performance_log", _QUERY_LOG, scale.queries_per_day),
        _Step("ops.chat_session", _CHAT_SESSIONS, chats),
        _Step("ops.message", _MESSAGES, chats * 7),
        _Step("ops.chain_analysis_result", _CHAIN_RESULTS, chats * 0.4),
        _Step("ops.audit_log", _AUDIT_ORGS),
        _Step("ops.audit_log", _AUDIT, scale.audit_entries_per_day),
    ]


def check_seed(seed: int) -> None:
    """A seed the 64-bit hashes can mix in; a one-line error otherwise."""
    if not -SEED_LIMIT <= seed <= SEED_LIMIT:
        raise UserError(f"the seed must be between {-SEED_LIMIT:,} and {SEED_LIMIT:,}, got {seed:,}")


def default_anchor() -> datetime:
    """Now, truncated to the hour (UTC): generated sources look fresh."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _ordinal(moment: datetime) -> int:
    return (moment.date() - EPOCH).days


def _chunks(first_day: int, last_day: int, rows_per_day: float) -> Iterator[tuple[int, int]]:
    """Day ranges [d0, d1] of about CHUNK_ROWS rows each."""
    size = max(1, int(CHUNK_ROWS // max(rows_per_day, 1.0)))
    for d0 in range(first_day, last_day + 1, size):
        yield d0, min(last_day, d0 + size - 1)


def _install_helpers(conn: psycopg.Connection, seed: int, namespace: str = "") -> None:
    """Create the pg_temp helpers; ``namespace`` separates the uuids and hashes of mutate rounds."""
    mix = seed * 1_000_003 + (
        int(hashlib.sha256(namespace.encode()).hexdigest()[:12], 16) if namespace else 0
    )
    conn.execute(sql.SQL(_HELPERS).format(mix=sql.Literal(mix), prefix=sql.Literal(f"{seed}:{namespace}")))


def _prepare(conn: psycopg.Connection) -> None:
    """Transaction settings and the refusal checks shared by generate and mutate."""
    conn.execute("set local timezone = 'UTC'")
    conn.execute("set local jit = off")
    if conn.execute("select to_regclass('ops.organization')").fetchone() == (None,):
        raise UserError("database is not bootstrapped (no ops.organization): run `opsmart bootstrap` first")


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )


# Foreign keys of the tables we load, parents only (partitions inherit theirs).
_FOREIGN_KEYS = """
select n.nspname, t.relname, c.conname, pg_get_constraintdef(c.oid)
from pg_constraint as c
join pg_class as t on t.oid = c.conrelid
join pg_namespace as n on n.oid = t.relnamespace
where c.contype = 'f' and c.conparentid = 0 and n.nspname in ('core', 'ops')
order by n.nspname, t.relname, c.conname
"""


def _suspend_foreign_keys(conn: psycopg.Connection) -> list[sql.Composed]:
    """Drop the foreign keys for the load; returns the statements that add them back.

    Checking a key row by row costs more than generating the row; adding the key
    back validates every row in one join. Both happen in the load's transaction, so
    no other session ever sees the tables without their keys.
    """
    restore = []
    for schema, table, name, definition in conn.execute(_FOREIGN_KEYS).fetchall():
        target, constraint = sql.Identifier(schema, table), sql.Identifier(name)
        conn.execute(sql.SQL("alter table {} drop constraint {}").format(target, constraint))
        # definition is the server's own rendering of the constraint, not outside input
        restore.append(
            sql.SQL("alter table {} add constraint {} {}").format(target, constraint, sql.SQL(definition))
        )
    return restore


# Secondary indexes (not backing a constraint) of the tables we load, parents only.
_SECONDARY_INDEXES = """
select n.nspname, i.relname, pg_get_indexdef(x.indexrelid)
from pg_index as x
join pg_class as i on i.oid = x.indexrelid
join pg_class as t on t.oid = x.indrelid
join pg_namespace as n on n.oid = t.relnamespace
where n.nspname in ('core', 'ops') and not t.relispartition
  and not exists (select from pg_constraint as c where c.conindid = x.indexrelid)
order by n.nspname, i.relname
"""


def _suspend_indexes(conn: psycopg.Connection) -> list[sql.Composed]:
    """Drop the secondary indexes for the load; returns the statements that build them again.

    Building an index from a sort of the loaded table is several times cheaper than
    maintaining it row by row (the GIN index on event payloads most of all). Like
    the foreign keys, they come back inside the load's transaction, under their own
    names and definitions.
    """
    restore = []
    for schema, name, definition in conn.execute(_SECONDARY_INDEXES).fetchall():
        conn.execute(sql.SQL("drop index {}").format(sql.Identifier(schema, name)))
        # definition is the server's own rendering of the index, not outside input; a
        # partitioned parent's reads "ON ONLY", which would skip the partitions
        restore.append(sql.SQL(definition.replace(" ON ONLY ", " ON ", 1)))
    return restore


def _parameters(conn: psycopg.Connection, scale: Scale, seed: int, anchor: datetime) -> dict[str, Any]:
    """Everything the statements refer to; installs the pg_temp helpers first."""
    _install_helpers(conn, seed)
    start = anchor - timedelta(days=scale.days)
    first_day, last_day = _ordinal(start), _ordinal(anchor - timedelta(microseconds=1))
    params: dict[str, Any] = {
        "anchor": anchor,
        "start": start,
        "first_day": first_day,
        "last_day": last_day,
        "ndays": last_day - first_day + 1,
        "seed_text": str(seed),
        "orgs": scale.organizations,
        "users": scale.users,
        "active": scale.active_users,
        "max_prompts": scale.max_prompts_per_organization,
        "experiments": scale.experiments,
        "events_per_day": scale.events_per_day,
        "runs_per_day": scale.runs_per_day,
        "workflow_runs_per_day": scale.workflow_runs_per_day,
        "chat_sessions_per_day": scale.chat_sessions_per_day,
        "queries_per_day": scale.queries_per_day,
        "audit_entries_per_day": scale.audit_entries_per_day,
        "query_base_ms": QUERY_BASE_MS,
        **VOCABULARY,
    }
    # uuids of users, their organizations and organizations, looked up by index in the
    # big statements: an array subscript is cheaper than an md5 per row.
    ids = conn.execute(
        """
        select array(select pg_temp.id('user', j) from generate_series(0, %(users)s - 1) as j order by j),
               array(select pg_temp.id('org', pg_temp.user_org(j, %(orgs)s))
                     from generate_series(0, %(users)s - 1) as j order by j),
               array(select pg_temp.id('org', o) from generate_series(0, %(orgs)s - 1) as o order by o)
        """,
        params,
    ).fetchone()
    assert ids is not None
    params["user_ids"], params["user_org_ids"], params["org_ids"] = ids
    return params


def generate(
    url: str,
    scale: Scale,
    seed: int = 42,
    anchor: datetime | None = None,
    progress: bool = True,
) -> dict[str, int]:
    """Load synthetic ops data into a bootstrapped, empty database; returns rows loaded per table.

    All rows lie in the ``scale.days`` days before ``anchor`` (default: now, truncated to
    the hour). The same seed and anchor give identical data. One transaction: a failure
    leaves nothing behind.
    """
    check_seed(seed)
    anchor = _utc(anchor or default_anchor())
    steps = _steps(scale)
    counts: dict[str, int] = {}
    began = time.perf_counter()
    with connection.connect(url) as conn, _progress(progress) as bar:
        _prepare(conn)
        if conn.execute("select exists (select from ops.organization)").fetchone() == (True,):
            raise UserError("database already has data; generate into a fresh database or use --mutate")
        params = _parameters(conn, scale, seed, anchor)
        conn.execute("select ops.ensure_event_partitions(%(start)s::date, %(anchor)s::date)", params)
        first_day, last_day, ndays = params["first_day"], params["last_day"], params["ndays"]
        expected = sum(s.rows_per_day * ndays if s.rows_per_day else 1 for s in steps)
        task = bar.add_task("generating", total=expected + 1)
        restore = _suspend_foreign_keys(conn)
        rebuild = _suspend_indexes(conn)
        for step in steps:
            bar.update(task, description=step.table)
            chunks = _chunks(first_day, last_day, step.rows_per_day) if step.rows_per_day else [(0, 0)]
            for d0, d1 in chunks:
                cur = conn.execute(step.statement, {**params, "d0": d0, "d1": d1})  # type: ignore[arg-type]
                counts[step.table] = counts.get(step.table, 0) + max(cur.rowcount, 0)
                bar.update(task, advance=step.rows_per_day * (d1 - d0 + 1) if step.rows_per_day else 1)
        bar.update(task, description="building indexes", completed=expected)
        for statement in rebuild:
            conn.execute(statement)
        bar.update(task, description="checking foreign keys", completed=expected)
        for statement in restore:
            conn.execute(statement)
        bar.update(task, description="committing", completed=expected + 1)
    elapsed = time.perf_counter() - began
    if progress:
        total = sum(counts.values())
        print(
            f"generated {total:,} rows ({counts.get('ops.event', 0):,} events) in {elapsed:.1f} s"
            f" ({total / elapsed:,.0f} rows/s), seed {seed}, anchor {anchor:%Y-%m-%d %H:%M} UTC"
        )
    return counts


# --- mutate -------------------------------------------------------------------------------------

# Victims are chosen by a hash of their key salted with seed and round: deterministic for a
# given seed and data, and different every round.
_MUTATE_HELPERS = """
create function pg_temp.uh(t text, k integer) returns double precision
    language sql immutable parallel safe
    return ((hashtextextended(t, {mix} + k) & 9007199254740991)::double precision + 0.5)
        / 9007199254740992.0;
"""

_FINISH_RUNS = """
update ops.analysis_run
set status = case when pg_temp.uh(id::text, 1) < 0.85 then 'succeeded' else 'failed' end,
    finished_at = greatest(started_at, %(now)s::timestamptz - interval '2 minutes' * pg_temp.uh(id::text, 2))
where id in (
    select id from ops.analysis_run where status = 'running'
    order by pg_temp.uh(id::text, 3)
    limit (select ceil(count(*) / 2.0) from ops.analysis_run where status = 'running')
)
"""

_START_RUNS = """
update ops.analysis_run
set status = 'running',
    started_at = greatest(created_at, %(now)s::timestamptz - interval '5 minutes' * pg_temp.uh(id::text, 4))
where id in (
    select id from ops.analysis_run where status = 'queued'
    order by pg_temp.uh(id::text, 5)
    limit (select ceil(count(*) / 2.0) from ops.analysis_run where status = 'queued')
)
"""

# A corrected score moves by 0.5 .. 10 points, wrapping within 0..10: never the same value.
_CORRECT_SCORES = """
update ops.judge_score
set score = ((score * 2 + 1 + floor(20 * pg_temp.uh(id::text, 6))::integer) %% 21) / 2
where id in (
    select id from ops.judge_score order by pg_temp.uh(id::text, 7)
    limit greatest(1, round(%(fraction)s * (select count(*) from ops.judge_score)))
)
"""

_CORRECT_METRICS = """
update ops.analysis_metric
set value_num = ((value_num * 2 + 1 + floor(20 * pg_temp.uh(id::text, 8))::integer) %% 21) / 2
where id in (
    select id from ops.analysis_metric
    where key = 'overall_score' and value_num is not null
    order by pg_temp.uh(id::text, 9)
    limit greatest(1, round(%(fraction)s * (select count(*) from ops.analysis_metric
                                             where key = 'overall_score')))
)
"""

_DELETE_EVENTS = """
delete from ops.event
where (id, occurred_at) in (
    select id, occurred_at from ops.event order by pg_temp.uh(id::text, 10)
    limit greatest(1, round(%(fraction)s / 10 * %(events)s))
)
"""

_PICK_USER = """
select u.id, (select count(*) from ops.event as e where e.user_id = u.id)
from core.users as u
where exists (select from ops.event as e where e.user_id = u.id)
order by pg_temp.uh(u.id::text, 11)
limit 1
"""

# The smallest organization that still has events (ties broken by hash); never the last one.
_PICK_ORGANIZATION = """
select o.id, count(e.id) as events
from ops.organization as o
join ops.event as e on e.organization_id = o.id
where (select count(*) from ops.organization) > 1
group by o.id
order by events, pg_temp.uh(o.id::text, 12)
limit 1
"""

_REASSIGN_RUN = """
with victim as (
    select r.id, r.organization_id
    from ops.analysis_run as r
    where r.organization_id is not null
      and exists (select from ops.analysis_metric as m where m.analysis_run_id = r.id)
    order by pg_temp.uh(r.id::text, 13)
    limit 1
),
target as (
    select o.id
    from ops.organization as o, victim as v
    where o.id <> v.organization_id
    order by pg_temp.uh(o.id::text, 14)
    limit 1
)
update ops.analysis_run as r
set organization_id = target.id
from victim, target
where r.id = victim.id
"""

_MEMBERS = """
create temp table mutate_member on commit drop as
select row_number() over (order by ou.id) - 1 as rn, ou.user_id, ou.organization_id
from ops.organization_user as ou
where ou.status = 'active'
"""

_NEW_EVENTS = """
insert into ops.event (organization_id, user_id, source, feature_key, occurred_at, received_at, payload,
                       created_at)
select m.organization_id, m.user_id,
       pg_temp.pick(%(sources)s, power(pg_temp.u(x.k, 1), 2.2)),
       pg_temp.pick(%(features)s, power(pg_temp.u(x.k, 2), 2)),
       x.occurred, x.received,
       jsonb_build_object('client', pg_temp.pick(%(clients)s, power(pg_temp.u(x.k, 3), 2)), 'late', x.late),
       x.received
from (
    select k, floor(%(members)s * power(pg_temp.u(k, 4), 2))::bigint as rn, t.late,
           t.occurred,
           case when t.late then %(now)s::timestamptz - interval '10 minutes' * pg_temp.u(k, 5)
                else least(%(now)s::timestamptz,
                           t.occurred + interval '1 second' * (0.2 + 30 * pg_temp.u(k, 5)))
           end as received
    from generate_series(0, %(n)s - 1) as k
    cross join lateral (
        select pg_temp.u(k, 6) >= 0.9 as late,
               %(now)s::timestamptz - interval '24 hours'
                   * case when pg_temp.u(k, 6) >= 0.9 then 1 + 19 * pg_temp.u(k, 7) else pg_temp.u(k, 7) end
                   as occurred
    ) as t
) as x
join mutate_member as m on m.rn = x.rn
order by x.k
"""

# New runs: a third queued, a third running, a third succeeded with metrics and judge scores.
_NEW_RUNS = """
create temp table mutate_run on commit drop as
select k, pg_temp.id('run', k) as id,
       case when pg_temp.u(k, 20) < 0.05 then null else m.organization_id end as organization_id,
       case when pg_temp.u(k, 20) < 0.05 then null else m.user_id end as user_id,
       (array['queued', 'running', 'succeeded'])[1 + k %% 3] as status,
       t.created_at,
       case when k %% 3 > 0 then least(%(now)s::timestamptz, t.created_at + interval '3 seconds') end
           as started_at,
       case when k %% 3 = 2 then least(%(now)s::timestamptz, t.created_at + interval '25 seconds') end
           as finished_at,
       case when pg_temp.u(k, 21) < 0.05 then 10
            else pg_temp.score05(7 + 1.8 * pg_temp.z(k, 22)) end as overall
from generate_series(0, %(n)s - 1) as k
cross join lateral (select %(now)s::timestamptz - interval '1 hour' * pg_temp.u(k, 23) as created_at) as t
join mutate_member as m on m.rn = floor(%(members)s * power(pg_temp.u(k, 24), 2))::bigint
order by k
"""

_INSERT_NEW_RUNS = """
insert into ops.analysis_run (id, organization_id, user_id, llm_model, status, started_at, finished_at, meta,
                              created_at, updated_at)
select id, organization_id, user_id, pg_temp.pick(%(models)s, power(pg_temp.u(k, 25), 2)), status,
       started_at, finished_at, '{"trigger": "api"}', created_at,
       coalesce(finished_at, started_at, created_at)
from mutate_run order by k
"""

_INSERT_NEW_METRICS = """
insert into ops.analysis_metric (analysis_run_id, key, value_num, created_at)
select r.id, m.key,
       case m.n when 1 then r.overall
                when 2 then round((-ln(pg_temp.u(r.k, 26)) * 0.9)::numeric, 4)
                when 3 then round((10 * pg_temp.u(r.k, 27))::numeric, 1)
                else floor(exp(ln(180) + 0.9 * pg_temp.z(r.k, 28)))::numeric end,
       r.finished_at
from mutate_run as r
cross join unnest(array['overall_score', 'semantic_entropy', 'complexity_score', 'length_words'])
    with ordinality as m (key, n)
where r.status = 'succeeded'
order by r.k, m.n
"""

_INSERT_NEW_SCORES = """
insert into ops.judge_score (analysis_run_id, criterion_id, score, evidence, created_at, updated_at)
select r.id, c.id, pg_temp.score05(r.overall + 1.2 * pg_temp.z(r.k * 8 + c.n, 29)), '{}',
       r.finished_at, r.finished_at
from mutate_run as r
cross join (select id, row_number() over (order by key) as n from ops.judge_criterion) as c
where r.status = 'succeeded'
order by r.k, c.n
"""

_NEW_MESSAGES = """
insert into ops.message (session_id, role, content, ts, created_at)
select s.id, case when k %% 2 = 0 then 'user' else 'assistant' end,
       pg_temp.pick(%(chat_lines)s, pg_temp.u(k, 30)), x.ts, x.ts
from generate_series(0, %(n)s - 1) as k
join (select id, started_at, row_number() over (order by started_at desc, id) - 1 as rn
      from ops.chat_session) as s
    on s.rn = floor(least(%(sessions)s, 50) * pg_temp.u(k, 31))::bigint
cross join lateral (
    select greatest(s.started_at, %(now)s::timestamptz - interval '30 minutes' * pg_temp.u(k, 32)) as ts
) as x
order by k
"""

_NEW_QUERY_LOG = """
insert into ops.query_performance_log (query_name, endpoint, organization_id, duration_ms, rows_returned, ok,
                                       measured_at, created_at)
select (%(query_names)s::text[])[1 + q.n], pg_temp.pick(%(endpoints)s, pg_temp.u(k, 40)),
       (select id from ops.organization order by id
        offset floor(%(organizations)s * pg_temp.u(k, 41))::bigint limit 1),
       round(((%(query_base_ms)s::double precision[])[1 + q.n] * exp(1.1 * pg_temp.z(k, 42)))::numeric, 3),
       case when q.ok then floor(exp(ln(20) + 1.5 * pg_temp.z(k, 43)))::integer end,
       q.ok, q.at, q.at
from generate_series(0, %(n)s - 1) as k
cross join lateral (
    select floor(cardinality(%(query_names)s::text[]) * power(pg_temp.u(k, 44), 1.8))::integer as n,
           pg_temp.u(k, 45) >= 0.02 as ok,
           %(now)s::timestamptz - interval '1 hour' * pg_temp.u(k, 46) as at
) as q
order by k
"""

_AUDIT_ENTRY = """
insert into ops.audit_log (ts, organization_id, action, entity_type, entity_id, after_state, created_at)
values (%(now)s, %(organization)s, %(action)s, %(entity_type)s, %(entity_id)s, %(state)s, %(now)s)
"""

MUTATE_ACTION = "synthetic.mutate"


def _count(conn: psycopg.Connection, query: str, params: dict[str, Any] | None = None) -> int:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row and row[0] is not None else 0


def mutate(url: str, seed: int = 42, fraction: float = 0.01, progress: bool = True) -> dict[str, int]:
    """Change existing data the way production does, in one transaction; returns what it did.

    Late inserts (events, runs with metrics and judge scores, messages, query log rows),
    status updates, score corrections, deletes (events, one user purged, one small
    organization removed) and one run moved to another organization. Victims and new
    rows follow from the seed, the round (how many mutations the audit log records)
    and the data; timestamps are the transaction's now(), so "new" rows are fresh.
    """
    from psycopg.types.json import Jsonb

    check_seed(seed)
    counts: dict[str, int] = {}
    with connection.connect(url) as conn:
        _prepare(conn)
        if conn.execute("select exists (select from ops.organization)").fetchone() != (True,):
            raise UserError("database has no data to mutate: run `opsmart generate` first")
        round_ = 1 + _count(
            conn, "select count(*) from ops.audit_log where action = %(action)s", {"action": MUTATE_ACTION}
        )
        namespace = f"m{round_}:"
        _install_helpers(conn, seed, namespace)
        mix = seed * 1_000_003 + int(hashlib.sha256(namespace.encode()).hexdigest()[:12], 16)
        conn.execute(sql.SQL(_MUTATE_HELPERS).format(mix=sql.Literal(mix)))
        now = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        params: dict[str, Any] = {
            "now": now,
            "fraction": fraction,
            "query_base_ms": QUERY_BASE_MS,
            **VOCABULARY,
        }
        conn.execute(
            "select ops.ensure_event_partitions("
            "(%(now)s::timestamptz - interval '21 days')::date, %(now)s::date)",
            params,
        )
        params["events"] = _count(conn, "select count(*) from ops.event")

        def run(key: str, statement: str, extra: dict[str, Any] | None = None) -> None:
            cur = conn.execute(statement, {**params, **(extra or {})})  # type: ignore[arg-type]
            counts[key] = counts.get(key, 0) + max(cur.rowcount, 0)

        def audit(action: str, entity_type: str, entity_id: str, organization: Any, state: dict) -> None:
            conn.execute(
                _AUDIT_ENTRY,
                {
                    "now": now,
                    "organization": organization,
                    "action": action,
                    "entity_type": entity_type,
                    "entity_id": entity_id,
                    "state": Jsonb(state),
                },
            )

        # (b) runs move on: running ones finish, then queued ones start
        run("runs_finished", _FINISH_RUNS)
        run("runs_started", _START_RUNS)
        # (c) score corrections
        run("scores_corrected", _CORRECT_SCORES)
        run("metrics_corrected", _CORRECT_METRICS)
        # (d) deletes: some events, one user, one small organization
        run("events_deleted", _DELETE_EVENTS)
        counts["events_cascaded"] = 0
        counts["users_purged"] = 0
        victim = conn.execute(_PICK_USER).fetchone()
        if victim:
            conn.execute("delete from core.users where id = %s", [victim[0]])
            audit("user.purged", "user", str(victim[0]), None, {"events": victim[1]})
            counts["users_purged"], counts["events_cascaded"] = 1, int(victim[1])
        counts["organizations_removed"] = 0
        victim = conn.execute(_PICK_ORGANIZATION).fetchone()
        if victim:
            conn.execute("delete from ops.organization where id = %s", [victim[0]])
            audit("organization.removed", "organization", str(victim[0]), victim[0], {"events": victim[1]})
            counts["organizations_removed"] = 1
            counts["events_cascaded"] += int(victim[1])
        # (e) one run changes organization
        run("runs_reassigned", _REASSIGN_RUN)
        # (a) late inserts, from the members that are left
        conn.execute(_MEMBERS)
        members = _count(conn, "select count(*) from mutate_member")
        sessions = _count(conn, "select count(*) from ops.chat_session")
        runs = _count(conn, "select count(*) from ops.analysis_run")
        messages = _count(conn, "select count(*) from ops.message")
        queries = _count(conn, "select count(*) from ops.query_performance_log")
        organizations = _count(conn, "select count(*) from ops.organization")
        params.update(members=members, sessions=sessions, organizations=organizations)

        def share(total: int, least: int = 1) -> int:
            return max(least, round(fraction * total))

        if members:
            run("events_inserted", _NEW_EVENTS, {"n": share(params["events"])})
            conn.execute(_NEW_RUNS, {**params, "n": share(runs, 3)})
            run("runs_inserted", _INSERT_NEW_RUNS)
            run("metrics_inserted", _INSERT_NEW_METRICS)
            run("judge_scores_inserted", _INSERT_NEW_SCORES)
        if sessions:
            run("messages_inserted", _NEW_MESSAGES, {"n": share(messages)})
        run("query_logs_inserted", _NEW_QUERY_LOG, {"n": share(queries)})
        result = {key: counts.get(key, 0) for key in MUTATE_KEYS}
        audit(MUTATE_ACTION, "database", "ops", None, {"round": round_, "seed": seed, **result})
    if progress:
        done = ", ".join(f"{key.replace('_', ' ')} {value:,}" for key, value in result.items())
        print(f"mutate round {round_} (seed {seed}): {done}")
    return result


MUTATE_KEYS = (
    "events_inserted",
    "events_deleted",
    "events_cascaded",
    "runs_inserted",
    "metrics_inserted",
    "judge_scores_inserted",
    "messages_inserted",
    "query_logs_inserted",
    "runs_started",
    "runs_finished",
    "scores_corrected",
    "metrics_corrected",
    "users_purged",
    "organizations_removed",
    "runs_reassigned",
)
