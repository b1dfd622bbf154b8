"""opsmart purge --user: a user's personal data leaves ops at once and the marts at the next build."""

from __future__ import annotations

import uuid

import psycopg
from support import build_marts
from support.platform import assert_marts_exact, run_cli

PERSONAL = {
    "core.users": "id = %(u)s",
    "ops.event": "user_id = %(u)s",
    "core.sessions": "user_id = %(u)s",
    "core.auth_accounts": "user_id = %(u)s",
    "ops.chat_session": "user_id = %(u)s",
    "ops.organization_user": "user_id = %(u)s",
    "ops.analysis_run": "user_id = %(u)s",
}


def _counts(conn: psycopg.Connection, user) -> dict[str, int]:
    counts = {
        t: conn.execute(f"select count(*) from {t} where {w}", {"u": user}).fetchone()[0]
        for t, w in PERSONAL.items()
    }
    counts["ops.message"] = conn.execute(
        "select count(*) from ops.message"
        " where session_id in (select id from ops.chat_session where user_id = %s)",
        [user],
    ).fetchone()[0]
    return counts


def test_purge_removes_a_users_personal_data_from_ops_then_the_marts(loaded_url: str) -> None:
    url = loaded_url
    with psycopg.connect(url) as conn:
        user, email = conn.execute(
            """select u.id, u.email from core.users as u
               where exists (select from ops.event as e where e.user_id = u.id)
                 and exists (select from ops.chat_session as s join ops.message as m on m.session_id = s.id
                             where s.user_id = u.id)
                 and exists (select from core.sessions as s where s.user_id = u.id)
               order by u.id limit 1"""
        ).fetchone()
        before = _counts(conn, user)
        events_before = conn.execute("select count(*) from ops.event").fetchone()[0]
    assert before["ops.event"] and before["ops.message"] and before["core.sessions"], before

    result = run_cli(url, "purge", "--user", str(user))
    assert result.returncode == 0, result.stderr

    with psycopg.connect(url) as conn:
        assert all(n == 0 for n in _counts(conn, user).values()), _counts(conn, user)
        audit = conn.execute(
            "select action, after_state from ops.audit_log where entity_type = 'user' and entity_id = %s",
            [str(user)],
        ).fetchall()
        assert len(audit) == 1 and audit[0][0] == "user.purge"
        assert audit[0][1]["removed"]["events"] == before["ops.event"]
        assert email not in str(audit[0][1])
    build_marts(url)
    with psycopg.connect(url) as conn:
        marted = conn.execute("select sum(events) from mart.feature_daily").fetchone()[0]
        assert marted == events_before - before["ops.event"]
    assert_marts_exact(url)


def test_purge_of_an_unknown_or_malformed_id_is_a_one_line_error(db_url: str) -> None:
    for arg, words in (
        (str(uuid.uuid4()), "no user"),
        ("not-a-uuid", "UUID"),
        ("'; drop table core.users; --", "UUID"),
    ):
        result = run_cli(db_url, "purge", "--user", arg)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr, result.stderr
    with psycopg.connect(db_url) as conn:
        assert (
            conn.execute("select count(*) from ops.audit_log where action = 'user.purge'").fetchone()[0] == 0
        )
