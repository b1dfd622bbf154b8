"""synth.mutate: changes that behave like production's, a user purged the way `opsmart purge` does."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from support import TINY, generate_tiny, rows, value

from opsmart import connection, purge
from opsmart.synth import mutate


def _snapshot(url: str, query: str) -> dict[Any, Any]:
    return dict(rows(url, query))


def test_mutate_changes_what_it_says(db_url: str) -> None:
    generate_tiny(db_url)
    events = value(db_url, "select count(*) from ops.event")
    scores = _snapshot(db_url, "select id, score from ops.judge_score")
    overall = _snapshot(db_url, "select id, value_num from ops.analysis_metric where key = 'overall_score'")
    status = _snapshot(db_url, "select id, status from ops.analysis_run")

    done = mutate.mutate(db_url, seed=1, fraction=0.01, progress=False)
    assert all(n > 0 for n in done.values()), done
    assert list(done) == list(mutate.KEYS)

    after = value(db_url, "select count(*) from ops.event")
    assert after == events + done["events_inserted"] - done["events_deleted"] - done["events_cascaded"]

    user = value(db_url, "select entity_id::uuid from ops.audit_log where action = %s", [purge.AUDIT_ACTION])
    for table, column in [
        ("core.users", "id"),
        ("core.sessions", "user_id"),
        ("core.auth_accounts", "user_id"),
        ("ops.organization_user", "user_id"),
        ("ops.event", "user_id"),
        ("ops.chat_session", "user_id"),
        ("ops.analysis_run", "user_id"),
        ("ops.workflow_run", "user_id"),
        ("ops.api_key", "user_id"),
    ]:
        assert value(db_url, f"select count(*) from {table} where {column} = %s", [user]) == 0, table

    org = value(db_url, "select entity_id::uuid from ops.audit_log where action = 'organization.removed'")
    for table in ["ops.organization", "ops.analysis_run", "ops.event", "core.prompts", "ops.workflow_run"]:
        column = "id" if table == "ops.organization" else "organization_id"
        assert value(db_url, f"select count(*) from {table} where {column} = %s", [org]) == 0, table

    now_scores = _snapshot(db_url, "select id, score from ops.judge_score")
    changed = [i for i, s in now_scores.items() if i in scores and scores[i] != s]
    assert 0 < len(changed) <= done["scores_corrected"]
    now_overall = _snapshot(
        db_url, "select id, value_num from ops.analysis_metric where key = 'overall_score'"
    )
    assert any(i in overall and overall[i] != v for i, v in now_overall.items())
    assert set(now_scores.values()) <= {x / 2 for x in range(21)}

    now_status = _snapshot(db_url, "select id, status from ops.analysis_run")
    started = sum(1 for i, s in now_status.items() if status.get(i) == "queued" and s == "running")
    was_running = [i for i, s in status.items() if s == "running"]
    finished = sum(1 for i in was_running if now_status.get(i) in ("succeeded", "failed"))
    gone = sum(1 for i in was_running if i not in now_status)  # its organization was removed
    assert 0 < started <= done["runs_started"]
    assert finished <= done["runs_finished"] <= finished + gone
    assert len(now_status.keys() - status.keys()) == done["runs_inserted"]

    # new metrics leave their organization to the trigger, which copies their run's
    mismatched = value(
        db_url,
        "select count(*) from ops.analysis_metric as m join ops.analysis_run as r on r.id = m.analysis_run_id"
        " where m.organization_id is distinct from r.organization_id",
    )
    assert mismatched == 0


def test_mutate_purges_a_user_as_opsmart_purge_does(db_url: str) -> None:
    generate_tiny(db_url)
    done = mutate.mutate(db_url, seed=2, fraction=0.01, progress=False)
    audits = rows(db_url, "select action, after_state from ops.audit_log where entity_type = 'user'")
    assert [action for action, _ in audits] == [purge.AUDIT_ACTION]
    state = audits[0][1]
    assert state["purged"] is True and set(state["removed"]) == set(purge.COUNTS)
    assert state["removed"]["events"] == done["events_cascaded"] - value(
        db_url,
        "select coalesce(sum((after_state ->> 'events')::int), 0) from ops.audit_log"
        " where action = 'organization.removed'",
    )


def test_mutate_keeps_making_progress(db_url: str) -> None:
    generate_tiny(db_url)
    rounds = [mutate.mutate(db_url, seed=3, fraction=0.01, progress=False) for _ in range(20)]
    assert all(r["events_inserted"] > 0 and r["runs_inserted"] > 0 and r["users_purged"] == 1 for r in rounds)
    assert sum(r["organizations_removed"] for r in rounds) == TINY.organizations - 1
    assert value(db_url, "select count(*) from ops.organization") == 1
    assert value(db_url, "select count(*) from ops.audit_log where action = %s", [mutate.ACTION]) == 20


def test_cli_mutate(db_url: str) -> None:
    generate_tiny(db_url)
    env = {**os.environ, connection.URL_ENV: db_url}
    command = [sys.executable, "-m", "opsmart.cli", "generate", "--mutate", "--seed", "5"]
    mutated = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert mutated.returncode == 0, mutated.stderr
    assert len(mutated.stdout.strip().splitlines()) == 1 and "mutate round 1" in mutated.stdout
