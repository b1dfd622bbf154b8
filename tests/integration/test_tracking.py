"""Change tracking cannot be bypassed: partitions, truncate, attach, detach, and code changes.

Every case changes the ops data (or the code) the way an operator might behind
the marts' back, runs an ordinary incremental build, and asserts the marts equal
a full refresh.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql
from support import build_marts, copy_project, dbt_ok, differing_marts
from support.platform import ANCHOR, assert_marts_exact

from opsmart import connection

pytestmark = pytest.mark.every_server

REPO = Path(__file__).resolve().parents[2]


def _busiest_partition(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select tableoid::regclass::text from ops.event group by 1 order by count(*) desc limit 1"
        ).fetchone()[0]


def _state(url: str, model: str) -> tuple[bool, int, int]:
    """Whether the mart's last build was a full one; buckets and groups it rebuilt."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select is_full_refresh, buckets_rebuilt, groups_rebuilt from ops.mart_build_state"
            " where target_schema = 'mart' and model = %s",
            [model],
        ).fetchone()


def test_updates_and_deletes_aimed_at_a_partition_are_tracked(loaded_url: str) -> None:
    part = sql.Identifier(*_busiest_partition(loaded_url).split("."))
    with psycopg.connect(loaded_url) as conn:
        moved = conn.execute(
            sql.SQL(
                "update {} set feature_key = 'moved.here'"
                " where id in (select id from {} order by id limit 31)"
            ).format(part, part)
        ).rowcount
        gone = conn.execute(
            sql.SQL("delete from {} where id in (select id from {} order by id desc limit 43)").format(
                part, part
            )
        ).rowcount
        logged = conn.execute("select count(*) from ops.mart_change_log where source = 'event'").fetchone()[0]
    assert (moved, gone) == (31, 43)
    assert logged > 0
    build_marts(loaded_url)
    with psycopg.connect(loaded_url) as conn:
        assert (
            conn.execute(
                "select sum(events) from mart.feature_daily where feature_key = 'moved.here'"
            ).fetchone()[0]
            == 31
        )
    assert_marts_exact(loaded_url)


def test_an_update_that_moves_rows_to_another_partition_is_tracked(loaded_url: str) -> None:
    # PostgreSQL runs it as a delete and an insert: no AFTER UPDATE trigger fires
    name = _busiest_partition(loaded_url)
    with psycopg.connect(loaded_url) as conn:
        conn.execute(
            sql.SQL(
                "update ops.event set occurred_at = occurred_at + interval '40 days',"
                " feature_key = 'moved.month' where id in (select id from {} order by id limit 37)"
            ).format(sql.Identifier(*name.split(".")))
        )
        landed = conn.execute(
            "select count(distinct tableoid) from ops.event where feature_key = 'moved.month'"
            " and tableoid <> %s::regclass",
            [name],
        ).fetchone()[0]
        # and one moved back again in a later transaction, keeping its feature
        conn.execute(
            "update ops.event set occurred_at = occurred_at - interval '40 days'"
            " where id = (select min(id) from ops.event where feature_key = 'moved.month')"
        )
    assert landed >= 1
    build_marts(loaded_url)
    with psycopg.connect(loaded_url) as conn:
        assert (
            conn.execute(
                "select sum(events) from mart.feature_daily where feature_key = 'moved.month'"
            ).fetchone()[0]
            == 37
        )
    assert_marts_exact(loaded_url)


def test_truncate_of_a_partition_is_refused(loaded_url: str) -> None:
    part = sql.Identifier(*_busiest_partition(loaded_url).split("."))
    with psycopg.connect(loaded_url) as conn, pytest.raises(errors.FeatureNotSupported):
        conn.execute(sql.SQL("truncate {}").format(part))


def test_a_truncate_that_gets_past_the_guard_is_caught_by_the_next_build(loaded_url: str) -> None:
    name = _busiest_partition(loaded_url)
    part = sql.Identifier(*name.split("."))
    with psycopg.connect(loaded_url) as conn:
        # an operator with the rights to remove the guard first
        conn.execute(sql.SQL("alter table {} disable trigger trg_refuse_truncate").format(part))
        conn.execute(sql.SQL("truncate {}").format(part))
        conn.execute(sql.SQL("alter table {} enable trigger trg_refuse_truncate").format(part))
    build_marts(loaded_url)
    full, buckets, _ = _state(loaded_url, "feature_daily")
    # a range partition: its month is recomputed, not the whole mart
    assert not full and buckets > 0
    assert_marts_exact(loaded_url)


def test_detach_and_attach_of_a_partition_with_rows_are_caught_by_the_next_build(loaded_url: str) -> None:
    name = _busiest_partition(loaded_url)
    part = sql.Identifier(*name.split("."))
    with psycopg.connect(loaded_url) as conn:
        bound = conn.execute(
            "select pg_get_expr(relpartbound, oid) from pg_class where oid = %s::regclass", [name]
        ).fetchone()[0]
        conn.execute(sql.SQL("alter table ops.event detach partition {}").format(part))
    build_marts(loaded_url)
    assert _state(loaded_url, "feature_daily")[0] is False
    assert_marts_exact(loaded_url)
    with psycopg.connect(loaded_url) as conn:
        conn.execute(sql.SQL("alter table ops.event attach partition {} " + bound).format(part))
    build_marts(loaded_url)
    assert _state(loaded_url, "feature_daily")[0] is False
    assert_marts_exact(loaded_url)


def test_a_partition_made_ahead_and_filled_later_needs_no_full_rebuild(loaded_url: str) -> None:
    with psycopg.connect(loaded_url) as conn:
        conn.execute("select ops.ensure_event_partitions('2031-01-01', '2031-02-28')")
    build_marts(loaded_url)  # sees the new, empty partitions
    with psycopg.connect(loaded_url) as conn:
        org = conn.execute("select id from ops.organization order by id limit 1").fetchone()[0]
        conn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " select %s, 'web', 'future.month', timestamptz '2031-01-15 10:00+00' + make_interval(hours => i)"
            " from generate_series(1, 50) as i",
            [org],
        )
    build_marts(loaded_url)
    full, buckets, groups = _state(loaded_url, "feature_daily")
    # 50 events of one organization and feature on three days: three groups
    assert (full, buckets, groups) == (False, 0, 3)
    assert_marts_exact(loaded_url)


def test_a_truncated_unpartitioned_source_rebuilds_its_marts_in_full(loaded_url: str) -> None:
    with psycopg.connect(loaded_url) as conn:
        conn.execute("alter table ops.query_performance_log disable trigger trg_refuse_truncate")
        conn.execute("truncate ops.query_performance_log")
        conn.execute("alter table ops.query_performance_log enable trigger trg_refuse_truncate")
    build_marts(loaded_url)
    assert _state(loaded_url, "performance_dashboard")[0] is True
    assert _state(loaded_url, "feature_daily")[0] is False
    with psycopg.connect(loaded_url) as conn:
        assert conn.execute("select count(*) from mart.performance_dashboard").fetchone()[0] == 0
    assert_marts_exact(loaded_url)


def test_a_changed_model_is_rebuilt_in_full_by_the_next_incremental_build(
    loaded_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(tmp_path / "project")
    staging = project / "models" / "staging" / "ops" / "stg_ops__events.sql"
    text = staging.read_text()
    assert "        feature_key,\n" in text
    staging.write_text(text.replace("        feature_key,\n", "        upper(feature_key) as feature_key,\n"))
    with psycopg.connect(loaded_url) as conn:
        org = conn.execute("select id from ops.organization order by id limit 1").fetchone()[0]
        conn.execute(
            "insert into ops.event (organization_id, source, feature_key, occurred_at)"
            " values (%s, 'api', 'late.one', %s)",
            [org, ANCHOR],
        )
    monkeypatch.setenv(connection.PROJECT_ENV, str(project))
    # what a scheduler runs after the deploy: the views, then the marts, incremental
    dbt_ok(loaded_url, "run")
    assert _state(loaded_url, "feature_daily")[0] is True
    with psycopg.connect(loaded_url) as conn:
        keys = conn.execute(
            "select count(*) filter (where feature_key <> upper(feature_key)), count(*)"
            " from mart.feature_daily"
        ).fetchone()
    assert keys[0] == 0 and keys[1] > 0
    build_marts(loaded_url, full_refresh=True, schema="mart_full")
    assert differing_marts(loaded_url, "mart", "mart_full") == {}
