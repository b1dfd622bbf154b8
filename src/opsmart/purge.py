"""``opsmart purge --user ID``: remove one user's personal data from core and ops.

One transaction: the user's row goes, and with it (by the schema's cascading
foreign keys) their product events, chat sessions and messages, sessions, auth
accounts and memberships; analysis runs, workflow runs, experiments and API keys
stay, no longer linked to them. An audit row records the purge with counts only.
The delete triggers log the touched hours, so the next build removes the user
from the marts.
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg.types.json import Jsonb

from opsmart import connection
from opsmart.errors import UserError

# What goes with the user: (label, count query), counted before the delete.
COUNTS = {
    "events": "select count(*) from ops.event where user_id = %(id)s",
    "chat_sessions": "select count(*) from ops.chat_session where user_id = %(id)s",
    # (a subquery, not a join: on a Citus cluster the sessions are read first, then the messages)
    "messages": (
        "select count(*) from ops.message"
        " where session_id in (select id from ops.chat_session where user_id = %(id)s)"
    ),
    "sessions": "select count(*) from core.sessions where user_id = %(id)s",
    "auth_accounts": "select count(*) from core.auth_accounts where user_id = %(id)s",
    "memberships": "select count(*) from ops.organization_user where user_id = %(id)s",
    "analysis_runs_unlinked": "select count(*) from ops.analysis_run where user_id = %(id)s",
}


def parse_user_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except (ValueError, AttributeError):
        raise UserError(f"--user wants a user id (a UUID), got {text!r}") from None


AUDIT_ACTION = "user.purge"


def remove_user(conn: psycopg.Connection, user_id: uuid.UUID) -> dict[str, int] | None:
    """Purge a user inside ``conn``'s transaction: audit with counts, then delete.

    Returns what goes, by kind; ``None`` when there is no such user. The caller commits.
    """
    params = {"id": user_id}
    # On a Citus cluster the user's row is in a reference table whose delete cascades
    # into distributed tables: Citus runs that only over one connection per worker, so
    # the transaction must not open several first (its multi-shard counts would).
    conn.execute(
        "select set_config('citus.multi_shard_modify_mode', 'sequential', true)"
        " where exists (select from pg_extension where extname = 'citus')"
    )
    found = conn.execute("select 1 from core.users where id = %(id)s for update", params).fetchone()
    if found is None:
        return None
    counts = {label: conn.execute(query, params).fetchone()[0] for label, query in COUNTS.items()}  # type: ignore[index]
    conn.execute(
        """insert into ops.audit_log (action, entity_type, entity_id, after_state)
           values (%s, 'user', %s, %s)""",
        [AUDIT_ACTION, str(user_id), Jsonb({"purged": True, "removed": counts})],
    )
    conn.execute("delete from core.users where id = %(id)s", params)
    return counts


def purge_user(url: str, user_id: str | uuid.UUID, *, quiet: bool = False) -> dict[str, int]:
    """Delete a user and their personal data in one transaction; returns what was removed, by kind."""
    uid = user_id if isinstance(user_id, uuid.UUID) else parse_user_id(user_id)
    with connection.connect(url) as conn:
        counts = remove_user(conn, uid)
        if counts is None:
            raise UserError(f"no user {uid} in {connection.describe(url)}")
    if not quiet:
        removed = ", ".join(f"{n} {label.replace('_', ' ')}" for label, n in counts.items())
        print(f"purged user {uid}: {removed}; the next build removes them from the marts")
    return counts
