"""``opsmart generate``: load deterministic synthetic data into a bootstrapped, empty database."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from opsmart import connection, interrupts
from opsmart import progress as progress_bar
from opsmart.errors import UserError
from opsmart.synth import events, load, session, vocabulary
from opsmart.synth.scale import Scale, check_seed

EPOCH = date(2000, 1, 1)  # day ordinals count from here; it was a Saturday


@dataclass(frozen=True)
class Step:
    """One table's rows: ``sql/generate/<query>.sql`` selects them, its columns named like the table's."""

    table: str
    rows_per_day: float = 0.0  # > 0: chunked by days, about this many rows per day; 0: one statement
    query: str = ""  # default: the table's name

    @property
    def source(self) -> str:
        return session.statement(f"generate/{self.query or self.table}")


@dataclass(frozen=True)
class Pass:
    """Tables filled together, chunk by chunk of days; each chunk first makes ``pg_temp.<shared>``."""

    steps: tuple[Step, ...]
    shared: str | None = None  # sql/generate/<shared>.sql: rows the steps select from

    @property
    def rows_per_day(self) -> float:
        return sum(step.rows_per_day for step in self.steps)


def passes(scale: Scale) -> list[Pass]:
    """What the load's own connection loads, in order, with about how many rows a day.

    The events load beside it, on a connection of their own (synth.events).
    """
    words = vocabulary.vocabulary()
    runs = scale.runs_per_day
    succeeded = runs * 0.8
    workflows = scale.workflow_runs_per_day
    chats = scale.chat_sessions_per_day
    static = [
        "ops.organization",
        "core.users",
        "ops.organization_user",
        "core.auth_accounts",
        "core.sessions",
        "ops.api_key",
        "ops.provider_credential",
        "core.prompts",
        "core.prompt_relations",
        "core.analysis_results",
        "ops.experiment",
        "ops.experiment_run",
        "ops.judge_rubric",
        "ops.judge_criterion",
    ]
    return [
        *(Pass((Step(table),)) for table in static),
        Pass(
            (
                Step("ops.analysis_run", runs),
                Step("ops.analysis_metric", succeeded * len(words["run_metrics"])),
                Step("ops.judge_score", succeeded * len(words["judge_criteria"])),
                Step("ops.analysis_node_result", runs * 0.25 * len(words["analysis_nodes"])),
            ),
            shared="synth_runs",
        ),
        Pass(
            (
                Step("ops.workflow_run", workflows),
                Step("ops.workflow_node", workflows * len(words["workflow_nodes"])),
                Step("ops.evaluation_metric", workflows * 0.95 * len(words["evaluation_metrics"])),
            ),
            shared="synth_workflows",
        ),
        Pass((Step("ops.query_performance_log", scale.queries_per_day),)),
        Pass(
            (
                Step("ops.chat_session", chats),
                Step("ops.message", chats * 7),
                Step("ops.chain_analysis_result", chats * 0.4),
            ),
            shared="synth_chats",
        ),
        Pass((Step("ops.audit_log", query="ops.audit_log.organizations"),)),
        Pass((Step("ops.audit_log", scale.audit_entries_per_day),)),
    ]


def default_anchor() -> datetime:
    """Now, truncated to the hour (UTC): generated sources look fresh."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _ordinal(moment: datetime) -> int:
    return (moment.date() - EPOCH).days


def parameters(conn: psycopg.Connection, scale: Scale, seed: int, anchor: datetime) -> dict[str, Any]:
    """Everything the statements refer to; installs the pg_temp helpers first."""
    session.install_helpers(conn, seed)
    start = anchor - timedelta(days=scale.days)
    first_day, last_day = _ordinal(start), _ordinal(anchor - timedelta(microseconds=1))
    params: dict[str, Any] = {
        **vocabulary.parameters(),
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
        "runs_per_experiment": scale.RUNS_PER_EXPERIMENT,
        "events_per_day": scale.events_per_day,
        "runs_per_day": scale.runs_per_day,
        "workflow_runs_per_day": scale.workflow_runs_per_day,
        "chat_sessions_per_day": scale.chat_sessions_per_day,
        "queries_per_day": scale.queries_per_day,
        "audit_entries_per_day": scale.audit_entries_per_day,
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


def _run_pass(bulk: load.BulkLoad, step_pass: Pass, params: dict[str, Any], advance) -> None:
    if not step_pass.rows_per_day:
        for step in step_pass.steps:
            bulk.insert(step.table, step.source, params)
            advance(1)
        return
    for d0, d1 in load.chunks(params["first_day"], params["last_day"], step_pass.rows_per_day):
        chunk = {**params, "d0": d0, "d1": d1}
        if step_pass.shared:
            shared = sql.Identifier(step_pass.shared)
            select = sql.SQL(session.statement(f"generate/{step_pass.shared}"))  # type: ignore[arg-type]
            with bulk.timed(step_pass.shared):
                bulk.conn.execute(sql.SQL("create temp table {} as {}").format(shared, select), chunk)
        for step in step_pass.steps:
            bulk.insert(step.table, step.source, chunk)
            advance(step.rows_per_day * (d1 - d0 + 1))
        if step_pass.shared:
            bulk.conn.execute(sql.SQL("drop table {}").format(shared))


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
    plan = passes(scale)
    began = time.perf_counter()
    loader: events.EventLoader | None = None
    try:
        with connection.connect(url) as conn, progress_bar.bar(progress) as bar:
            session.prepare(conn)
            conn.execute("set local synchronous_commit = off")
            if conn.execute(
                "select exists (select from ops.organization"
                " where id is distinct from ops.anonymous_organization())"
            ).fetchone() == (True,):
                raise UserError("database already has data; generate into a fresh database or use --mutate")
            lock = "select pg_try_advisory_lock(hashtext('opsmart.synth.generate'))"
            if conn.execute(lock).fetchone() != (True,):
                raise UserError("another opsmart generate is loading this database")
            params = parameters(conn, scale, seed, anchor)
            expected = sum(p.rows_per_day * params["ndays"] or len(p.steps) for p in plan)
            expected += scale.events_per_day * params["ndays"]
            task = bar.add_task("generating", total=expected + 1)
            loader = events.EventLoader(
                url,
                params["first_day"],
                params["last_day"],
                scale.events_per_day,
                lambda events_conn: parameters(events_conn, scale, seed, anchor),
                lambda rows: bar.update(task, advance=rows),
            )
            loader.stage()
            bulk = load.BulkLoad(conn)
            bulk.suspend(sorted({step.table for p in plan for step in p.steps}))
            loader.start()
            for step_pass in plan:
                bar.update(task, description=step_pass.steps[0].table)
                _run_pass(bulk, step_pass, params, lambda rows: bar.update(task, advance=rows))
            # what does not wait for the events is done while they load
            for what in bulk.restore(but=("ops.event",)):
                bar.update(task, description=what)
            bar.update(task, description="ops.event")
            bulk.counts["ops.event"] = loader.finish(conn)
            for what in bulk.restore():
                bar.update(task, description=what, completed=expected)
            bar.update(task, description="committing", completed=expected + 1)
    except BaseException:
        if loader is not None:
            with interrupts.deferred():
                loader.stop()
        raise
    counts = bulk.counts
    elapsed = time.perf_counter() - began
    if progress:
        total = sum(counts.values())
        print(
            f"generated {total:,} rows ({counts.get('ops.event', 0):,} events) in {elapsed:.1f} s"
            f" ({total / elapsed:,.0f} rows/s), seed {seed}, anchor {anchor:%Y-%m-%d %H:%M} UTC"
        )
    return counts
