"""Login roles opsmart makes for itself where it administers the server.

Builds run as a login of opsmart_transformer and nothing more (a superuser
would lend its rights to SQL any transformer login can plant). On the embedded
server, whose superuser opsmart holds, the build login is made on first use,
with a generated password kept beside the data directory.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from opsmart import connection
from opsmart.errors import UserError

BUILDER = "opsmart_builder"
TRANSFORMER = "opsmart_transformer"
READER = "opsmart_reader"
ANALYST = "opsmart_analyst"


def ensure_login(superuser_url: str, name: str, group: str, password_file: Path) -> str:
    """URL of login ``name`` (member of ``group`` only) on the server of ``superuser_url``.

    The login is created, or its password reset, when ``password_file`` does not
    hold its password yet.
    """
    password = password_file.read_text().strip() if password_file.is_file() else ""
    with connection.connect(superuser_url, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = %s", [group]).fetchone():
            raise UserError(f"role {group} does not exist: run `opsmart bootstrap` first")
        exists = conn.execute("select 1 from pg_roles where rolname = %s", [name]).fetchone()
        if not exists or not password:
            password = secrets.token_urlsafe(24)
            verb = "alter" if exists else "create"
            conn.execute(
                sql.SQL("{} role {} login password {}").format(
                    sql.SQL(verb), sql.Identifier(name), sql.Literal(password)
                )
            )
            if not exists:
                conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(group), sql.Identifier(name)))
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
    return make_conninfo(superuser_url, user=name, password=password)


def connected_user(url: str) -> str:
    with connection.connect(url, autocommit=True) as conn:
        return conn.execute("select session_user").fetchone()[0]


def build_role_problem(url: str) -> str | None:
    """Why the login of ``url`` may not build the marts (see ops.build_role_problem), or None."""
    with connection.connect(url, autocommit=True) as conn:
        # the catalog first: naming anything in ops needs USAGE on it
        bootstrapped, usage, group, member = conn.execute(
            """select n.oid is not null, coalesce(has_schema_privilege(n.oid, 'usage'), false),
                      r.oid is not null, coalesce(pg_has_role(r.oid, 'usage'), false)
               from (select) as one
               left join pg_namespace as n on n.nspname = 'ops'
               left join pg_roles as r on r.rolname = %s""",
            [TRANSFORMER],
        ).fetchone()
        if not bootstrapped:
            return "the ops schema is not bootstrapped here: run `opsmart bootstrap` first"
        if not group:
            return (
                f"role {TRANSFORMER} does not exist: create the roles (opsmart bootstrap --roles-sql) "
                "and run opsmart bootstrap again"
            )
        if not member:
            # a login too strong to build is told so first: joining the group would not help
            too_strong = conn.execute(
                """select case when rolsuper then 'is a superuser'
                               when rolcreaterole then 'may create roles (CREATEROLE)'
                               when rolbypassrls then 'bypasses row-level security (BYPASSRLS)' end
                   from pg_roles where rolname = session_user"""
            ).fetchone()
            if too_strong and too_strong[0]:
                return f"{conn.info.user} {too_strong[0]}"
            return f"{conn.info.user} is not a member of {TRANSFORMER} that inherits its privileges"
        if not usage:
            return f"{TRANSFORMER} has no privileges yet: run opsmart bootstrap again as the owner of ops"
        try:
            return conn.execute("select ops.build_role_problem()").fetchone()[0]
        except psycopg.errors.InsufficientPrivilege:
            return f"{TRANSFORMER} has no privileges yet: run opsmart bootstrap again as the owner of ops"
