"""``opsmart generate --mutate``: change existing data the way production does, in one transaction."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from opsmart import connection, purge
from opsmart.errors import UserError
from opsmart.synth import session, vocabulary
from opsmart.synth.scale import check_seed

ACTION = "synthetic.mutate"

# What a round reports, in this order.
KEYS = (
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

_AUDIT_ENTRY = """
insert into ops.audit_log (ts, organization_id, action, entity_type, entity_id, after_state, created_at)
values (%(now)s, %(organization)s, %(action)s, %(entity_type)s, %(entity_id)s, %(state)s, %(now)s)
"""


def _count(conn: psycopg.Connection, query: str, params: dict[str, Any] | None = None) -> int:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row and row[0] is not None else 0


class _Round:
    """One round's connection, parameters and tallies."""

    def __init__(self, conn: psycopg.Connection, params: dict[str, Any]) -> None:
        self.conn = conn
        self.params = params
        self.counts: dict[str, int] = dict.fromkeys(KEYS, 0)

    def run(self, key: str | None, name: str, **extra: Any) -> None:
        """Run ``sql/mutate/<name>.sql``; add the rows it touched to ``key``."""
        cur = self.conn.execute(session.statement(f"mutate/{name}"), {**self.params, **extra})  # type: ignore[arg-type]
        if key:
            self.counts[key] += max(cur.rowcount, 0)

    def first(self, name: str) -> tuple[Any, ...] | None:
        """The first row of ``sql/mutate/<name>.sql``."""
        return self.conn.execute(session.statement(f"mutate/{name}"), self.params).fetchone()  # type: ignore[arg-type]

    def audit(self, action: str, entity_type: str, entity_id: str, organization: Any, state: dict) -> None:
        self.conn.execute(
            _AUDIT_ENTRY,
            {
                "now": self.params["now"],
                "organization": organization,
                "action": action,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "state": Jsonb(state),
            },
        )

    def share(self, table: str, least: int = 1) -> int:
        """The round's fraction of ``table``'s rows, at least ``least``."""
        rows = self.conn.execute(
            sql.SQL("select count(*) from {}").format(sql.Identifier(*table.split(".")))
        ).fetchone()
        return max(least, round(self.params["fraction"] * (rows[0] if rows else 0)))


def mutate(url: str, seed: int = 42, fraction: float = 0.01, progress: bool = True) -> dict[str, int]:
    """Change existing data the way production does, in one transaction; returns what it did.

    Late inserts (events, runs with metrics and judge scores, messages, query log rows),
    status updates, score corrections, deletes (events, one user purged like ``opsmart
    purge`` does, one small organization removed) and one run moved to another
    organization. Victims and new rows follow from the seed, the round (how many
    mutations the audit log records) and the data; timestamps are the transaction's
    now(), so "new" rows are fresh.
    """
    check_seed(seed)
    with connection.connect(url) as conn:
        session.prepare(conn)
        if conn.execute("select exists (select from ops.organization)").fetchone() != (True,):
            raise UserError("database has no data to mutate: run `opsmart generate` first")
        round_ = 1 + _count(conn, "select count(*) from ops.audit_log where action = %(a)s", {"a": ACTION})
        session.install_helpers(conn, seed, f"m{round_}:")
        now = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        params: dict[str, Any] = {**vocabulary.parameters(), "now": now, "fraction": fraction}
        # new events occur up to 20 days back
        conn.execute(
            "select ops.ensure_event_partitions((%(now)s - interval '21 days')::date, %(now)s::date)", params
        )
        params["events"] = _count(conn, "select count(*) from ops.event")
        r = _Round(conn, params)

        # (b) runs move on: running ones finish, then queued ones start
        r.run("runs_finished", "finish_runs")
        r.run("runs_started", "start_runs")
        # (c) score corrections
        r.run("scores_corrected", "correct_scores")
        r.run("metrics_corrected", "correct_metrics")
        # (d) deletes: some events, one user, one small organization
        r.run("events_deleted", "delete_events")
        user = r.first("pick_user")
        if user:
            removed = purge.remove_user(conn, user[0])
            assert removed is not None  # picked in this transaction
            r.counts["users_purged"], r.counts["events_cascaded"] = 1, removed["events"]
        victim = r.first("pick_organization")
        if victim:
            conn.execute("delete from ops.organization where id = %s", [victim[0]])
            r.audit("organization.removed", "organization", str(victim[0]), victim[0], {"events": victim[1]})
            r.counts["organizations_removed"] = 1
            r.counts["events_cascaded"] += int(victim[1])
        # (e) one run changes organization (not on a Citus cluster, where a
        # row's organization is the shard it lives in: docs/scale-out.md)
        if not _count(conn, "select count(*) from pg_extension where extname = 'citus'"):
            r.run("runs_reassigned", "move_run")
        # (a) late inserts, from the members that are left
        r.run(None, "members")
        params.update(
            members=_count(conn, "select count(*) from mutate_member"),
            sessions=_count(conn, "select count(*) from ops.chat_session"),
            organizations=_count(conn, "select count(*) from ops.organization"),
        )
        if params["members"]:
            r.run("events_inserted", "new_events", n=max(1, round(fraction * params["events"])))
            r.run(None, "new_runs", n=r.share("ops.analysis_run", 3))
            r.run("runs_inserted", "insert_new_runs")
            r.run("metrics_inserted", "insert_new_metrics")
            r.run("judge_scores_inserted", "insert_new_scores")
        if params["sessions"]:
            r.run("messages_inserted", "new_messages", n=r.share("ops.message"))
        r.run("query_logs_inserted", "new_query_log", n=r.share("ops.query_performance_log"))
        result = dict(r.counts)
        r.audit(ACTION, "database", "ops", None, {"round": round_, "seed": seed, **result})
    if progress:
        done = ", ".join(f"{key.replace('_', ' ')} {value:,}" for key, value in result.items())
        print(f"mutate round {round_} (seed {seed}): {done}")
    return result
