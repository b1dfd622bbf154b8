"""opsmart: exact, incremental analytics marts over the platform's PostgreSQL ops schema.

The command line is thin: it parses arguments and calls the module that does the work."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from opsmart import arguments, interrupts
from opsmart.errors import UserError


def _db(args: argparse.Namespace) -> int:
    from opsmart import connection, localdb

    if connection.is_external() and args.action != "url":
        raise UserError(f"{connection.URL_ENV} is set: the embedded server is not in use")
    if args.action == "up":
        print(localdb.up())
    elif args.action == "down":
        print("stopped" if localdb.down() else "not running")
    else:
        print(connection.database_url(start=False))
    return 0


def _bootstrap(args: argparse.Namespace) -> int:
    from opsmart import bootstrap, connection

    if args.roles_sql:
        print(bootstrap.roles_sql(), end="")
        return 0
    url = connection.database_url()
    if args.status:
        return bootstrap.print_status(url)
    # name the database: a forgotten OPSMART_DATABASE_URL must not pass unseen
    print(f"bootstrapping {connection.describe(url)} ({connection.origin()})", flush=True)
    bootstrap.apply(url)
    return 0


def _generate(args: argparse.Namespace) -> int:
    from opsmart import connection
    from opsmart.synth import generate, mutate
    from opsmart.synth.scale import Scale

    scale = Scale.from_args(args)
    if args.mutate:
        mutate.mutate(connection.database_url(), seed=args.seed, fraction=args.fraction)
    else:
        generate.generate(connection.database_url(), scale, seed=args.seed)
    return 0


def _build(args: argparse.Namespace) -> int:
    from opsmart import build

    if args.every is not None:
        from opsmart import schedule

        if args.full_refresh or args.backfill:
            raise UserError(
                "--every keeps the marts fresh incrementally: run --full-refresh or --backfill once"
            )
        return schedule.run(args.every, select=args.select, extra=args.dbt_args)
    return build.run(
        full_refresh=args.full_refresh,
        backfill=args.backfill,
        select=args.select,
        extra=args.dbt_args,
    )


def _check(args: argparse.Namespace) -> int:
    from opsmart import connection, health

    return health.run(connection.database_url(start=False), as_json=args.json)


def _demo(args: argparse.Namespace) -> int:
    from opsmart import demo

    return demo.run(scale=args.scale, seed=args.seed)


def _bench(args: argparse.Namespace) -> int:
    from opsmart.bench import runner

    if args.side_by_side:
        from opsmart.bench import cluster

        return cluster.side_by_side(args.scale, args.out, markdown=args.markdown)
    if args.cluster:
        from opsmart.bench import cluster

        return runner.run(
            scale=args.scale,
            out=args.out,
            markdown=args.markdown,
            cluster=cluster.home_cluster(),
            database=cluster.CLUSTER_DATABASE,
            extras=False,
        )
    return runner.run(scale=args.scale, out=args.out, markdown=args.markdown)


def _bench_report(args: argparse.Namespace) -> int:
    from opsmart.bench import report

    return report.rewrite(Path(args.results) if args.results else None)


def _report(args: argparse.Namespace) -> int:
    from opsmart import report

    return report.run(out=args.out, days=args.days)


def _freshness(args: argparse.Namespace) -> int:
    from opsmart import freshness

    return freshness.run(minutes=args.minutes, every=args.every, out=args.out)


def _backup(args: argparse.Namespace) -> int:
    from opsmart import backup, connection

    backup.backup(connection.database_url(), args.file)
    return 0


def _restore(args: argparse.Namespace) -> int:
    from opsmart import backup, connection

    backup.restore(connection.database_url(), args.file, force=args.force)
    return 0


def _purge(args: argparse.Namespace) -> int:
    from opsmart import connection, purge

    user_id = purge.parse_user_id(args.user)  # a malformed id fails before any connection
    purge.purge_user(connection.database_url(), user_id)
    return 0


def _load(args: argparse.Namespace) -> int:
    from opsmart import connection, load

    return load.run(connection.database_url(), seconds=args.seconds, writers=args.writers)


def _replicate(args: argparse.Namespace) -> int:
    from opsmart import replicate

    return replicate.command(args)


def _mf(args: argparse.Namespace) -> int:
    from opsmart import semantic

    return semantic.run([a for a in args.mf_args[:1] if a != "--"] + args.mf_args[1:])


def parser() -> argparse.ArgumentParser:
    from opsmart import build, freshness, load, report
    from opsmart.bench import plans
    from opsmart.synth.scale import SEED_LIMIT

    p = arguments.Parser(prog="opsmart", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="start, stop or locate the embedded PostgreSQL")
    db.add_argument("action", choices=["up", "down", "url"])
    db.set_defaults(func=_db)

    bs = sub.add_parser("bootstrap", help="apply ops_schema/ (idempotent)")
    bs.add_argument("--status", action="store_true", help="list applied and pending files")
    bs.add_argument(
        "--roles-sql",
        action="store_true",
        help="print the SQL that creates the group roles, for a DBA where bootstrap may not (no connection)",
    )
    bs.set_defaults(func=_bootstrap)

    gen = sub.add_parser("generate", help="load deterministic synthetic ops data")
    gen.add_argument(
        "--seed",
        type=arguments.whole(-SEED_LIMIT, SEED_LIMIT),
        default=42,
        help=f"default 42; at most {SEED_LIMIT:,} either way (it is mixed into 64-bit hashes)",
    )
    arguments.add_scale_args(gen)
    gen.add_argument("--mutate", action="store_true", help="change existing data instead of loading")
    gen.add_argument(
        "--fraction", type=arguments.fraction, default=0.01, help="share of rows --mutate touches"
    )
    gen.set_defaults(func=_generate)

    b = sub.add_parser("build", help="dbt build with the connection from the environment")
    b.add_argument("--full-refresh", action="store_true")
    b.add_argument(
        "--backfill",
        metavar="START:END",
        help=f"rebuild UTC days [START, END) of the marts, at most {build.MAX_BACKFILL_DAYS:,} days"
        " (ten years) per build; --full-refresh rebuilds everything",
    )
    b.add_argument("--select", "-s", help="dbt selector, e.g. feature_daily")
    b.add_argument(
        "--every",
        metavar="INTERVAL",
        help="build again every INTERVAL (60s, 5min, 1h), one build at a time, until Ctrl-C or SIGTERM",
    )
    b.add_argument("dbt_args", nargs=argparse.REMAINDER, help="after --: passed to dbt")
    b.set_defaults(func=_build)

    ck = sub.add_parser("check", help="health report; exits non-zero when unhealthy")
    ck.add_argument("--json", action="store_true")
    ck.set_defaults(func=_check)

    dm = sub.add_parser("demo", help="up, bootstrap, generate, build, summary on the embedded server")
    dm.add_argument("--scale", choices=["demo", "S", "M", "L"], default="demo")
    dm.add_argument("--seed", type=int, default=42)
    dm.set_defaults(func=_demo)

    bn = sub.add_parser("bench", help="benchmark the marts against hand-written SQL")
    bn.add_argument("--scale", choices=list(plans.PLANS), default="S")
    bn.add_argument("--out", metavar="FILE.json", help="JSON output (default bench/results/SCALE.json)")
    bn.add_argument(
        "--markdown",
        action="store_true",
        help="also rewrite BENCHMARKS.md from the JSON files (alone: opsmart bench report)",
    )
    bn.add_argument(
        "--cluster",
        action="store_true",
        help="on the Citus cluster of `opsmart cluster up` (scenarios and exactness only)",
    )
    bn.add_argument(
        "--side-by-side",
        action="store_true",
        help="the same scale and seed on the single server, then on the Citus cluster; ratios",
    )
    bn.set_defaults(func=_bench)
    bn_sub = bn.add_subparsers(dest="bench_command", metavar="[report]")
    br = bn_sub.add_parser(
        "report", help="rewrite BENCHMARKS.md from bench/results/ (S, M, L; S and M side by side)"
    )
    br.add_argument("results", nargs="?", metavar="RESULTS_DIR", help="default bench/results")
    br.set_defaults(func=_bench_report)

    rp = sub.add_parser("report", help="one self-contained HTML file of charts over the marts")
    rp.add_argument("--out", metavar="FILE.html", help=f"default {report.DEFAULT_FILE} in the opsmart home")
    rp.add_argument(
        "--days",
        type=arguments.whole(1, report.MAX_DAYS),
        default=report.DEFAULT_DAYS,
        help=f"the days up to the newest data, default {report.DEFAULT_DAYS}, at most {report.MAX_DAYS:,}",
    )
    rp.set_defaults(func=_report)

    fr = sub.add_parser("freshness", help="time events into mart.feature_daily under `build --every`")
    fr.add_argument(
        "--minutes",
        type=arguments.whole(1, freshness.MAX_MINUTES),
        default=10,
        help=f"how long to write probes, default 10, at most {freshness.MAX_MINUTES:,}",
    )
    fr.add_argument(
        "--every", default="60s", metavar="INTERVAL", help="the build loop's interval, default 60s"
    )
    fr.add_argument("--out", metavar="FILE.json", help="also write the figures and every latency as JSON")
    fr.set_defaults(func=_freshness)

    bk = sub.add_parser("backup", help="dump the database to FILE (pg_dump custom format)")
    bk.add_argument("file", metavar="FILE")
    bk.set_defaults(func=_backup)

    rs = sub.add_parser("restore", help="restore a backup, in one transaction, into an empty database")
    rs.add_argument("file", metavar="FILE")
    rs.add_argument("--force", action="store_true", help="replace the core, ops and mart schemas if present")
    rs.set_defaults(func=_restore)

    pg = sub.add_parser("purge", help="remove a user's personal data from core and ops (audited)")
    pg.add_argument("--user", required=True, metavar="ID", help="the user's id (UUID)")
    pg.set_defaults(func=_purge)

    ld = sub.add_parser("load", help="writers at full speed with and without concurrent builds")
    ld.add_argument(
        "--seconds",
        type=arguments.whole(1, load.MAX_SECONDS),
        default=30,
        help=f"length of each phase, at most {load.MAX_SECONDS:,} (each transaction's latency is kept)",
    )
    ld.add_argument(
        "--writers",
        type=arguments.whole(1, load.MAX_WRITERS),
        default=4,
        help=f"at most {load.MAX_WRITERS} (each holds a connection)",
    )
    ld.set_defaults(func=_load)

    rp = sub.add_parser("replicate", help="build the marts on an analytics server fed by logical replication")
    rp.add_argument("action", choices=["setup", "status"])
    rp.add_argument(
        "--primary", metavar="URL", help="the platform's database, as its owner (or OPSMART_PRIMARY_URL)"
    )
    rp.add_argument(
        "--analytics", metavar="URL", help="the analytics database, as its owner (or OPSMART_DATABASE_URL)"
    )
    rp.add_argument(
        "--subscribe-as",
        metavar="URL",
        help="setup: how the analytics server reaches the primary, as a login with REPLICATION"
        " (default --primary)",
    )
    rp.add_argument(
        "--build-url", metavar="URL", help="setup: the analytics server's build login (or OPSMART_BUILD_URL)"
    )
    rp.add_argument(
        "--name", help="setup: the subscription and its slot (default opsmart_<analytics database>)"
    )
    rp.add_argument(
        "--resync", action="store_true", help="setup: copy every table again (after schema drift)"
    )
    rp.add_argument(
        "--keep-primary-tracking",
        action="store_true",
        help="setup: leave the primary's change tracking on (only where marts are still built there too)",
    )
    rp.add_argument("--json", action="store_true", help="status: as JSON")
    rp.add_argument(
        "--wait",
        type=arguments.whole(0, 86_400),
        default=0,
        metavar="SECONDS",
        help="status: first wait until caught up",
    )
    rp.set_defaults(func=_replicate)
    from opsmart.cluster import commands as cluster_commands

    cluster_commands.add_parser(sub)

    mf = sub.add_parser(
        "mf",
        help="MetricFlow (mf) over the marts as an analyst, e.g. opsmart mf query --metrics analyses",
        add_help=False,
    )
    mf.add_argument("mf_args", nargs=argparse.REMAINDER, help="mf's own arguments (opsmart mf --help)")
    mf.set_defaults(func=_mf)
    return p


# SQLSTATEs (classes and codes) of refusals a user can act on: the connection,
# authorization, privileges, resources, locks and timeouts, operator
# intervention, the server's own failures, a read-only server, a missing database.
_REFUSALS = ("08", "28", "42501", "53", "55", "57", "58", "25006", "3D000")


def _database_refusal(exc: Exception) -> str | None:
    """What the server (or the network) refused, in one line; None for anything else, which is a bug."""
    import psycopg  # imported by the time a command fails with one of its errors

    if not isinstance(exc, psycopg.Error):
        return None
    if exc.sqlstate is None:
        if not isinstance(exc, psycopg.OperationalError):
            return None  # raised by psycopg itself, not the server: our mistake
    elif not exc.sqlstate.startswith(_REFUSALS):
        return None
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return f"the database refused: {first}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command: its exit status, or one ``opsmart:`` line on stderr and a non-zero one.

    Without ``argv`` it is the program itself (the console script, ``python -m``),
    which an interrupt ends at once with its status (see ``interrupts.exit_process``).
    """
    try:
        # Children are stopped before the error is reported: nothing runs on after opsmart.
        with interrupts.handling():
            given = list(sys.argv[1:] if argv is None else argv)
            if given[:1] == ["mf"]:
                # everything after `mf` is MetricFlow's, --help included
                given = ["mf", "--", *given[1:]]
            args = parser().parse_args(given)
            func: Callable[[argparse.Namespace], int] = args.func
            return func(args)
    except UserError as exc:
        print(f"opsmart: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        refusal = _database_refusal(exc)
        if refusal is None:
            raise  # a bug: its traceback is what gets it fixed
        print(f"opsmart: {refusal}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        what = f"stopped by {exc}" if isinstance(exc, interrupts.Terminated) else "interrupted"
        print(f"opsmart: {what}", file=sys.stderr)
        if argv is None:
            interrupts.exit_process(interrupts.exit_status(exc))
        return interrupts.exit_status(exc)


if __name__ == "__main__":
    sys.exit(main())
