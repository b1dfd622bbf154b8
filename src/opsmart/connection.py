"""Where the database is and how to reach it: the one place every entry point asks.

``OPSMART_DATABASE_URL`` (a libpq URL) selects an external PostgreSQL; unset, the
embedded server under ``.opsmart/`` (or ``$OPSMART_HOME``) is used.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from opsmart import files
from opsmart.errors import UserError

URL_ENV = "OPSMART_DATABASE_URL"
BUILD_URL_ENV = "OPSMART_BUILD_URL"
ANALYST_URL_ENV = "OPSMART_ANALYST_URL"
HOME_ENV = "OPSMART_HOME"
PROJECT_ENV = "OPSMART_PROJECT_DIR"
SCHEMA_ENV = "OPSMART_MART_SCHEMA"
DEFAULT_MART_SCHEMA = "mart"
# What ops.create_mart_schema accepts: a plain lowercase identifier that needs
# no quoting anywhere, with room for the "_staging" suffix.
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,54}$")


def project_dir() -> Path:
    """The dbt project root (holds ``dbt_project.yml`` and ``ops_schema/``)."""
    if os.environ.get(PROJECT_ENV):
        return Path(os.environ[PROJECT_ENV]).resolve()
    here = Path(__file__).resolve()
    for parent in [Path.cwd(), *here.parents]:
        if (parent / "dbt_project.yml").is_file() and (parent / "ops_schema").is_dir():
            return parent
    raise UserError(f"cannot find the opsmart project (dbt_project.yml); set {PROJECT_ENV}")


def home_dir() -> Path:
    """Where opsmart keeps local state: the embedded server, dbt profiles, results."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).resolve()
    return project_dir() / ".opsmart"


def ensure_home() -> Path:
    """``home_dir()``, created if needed; a clear error when it cannot be used."""
    home = home_dir()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"{HOME_ENV} {home} is a file, not a directory: point it at a folder") from None
    except OSError as exc:
        raise UserError(f"cannot create the opsmart home {home}: {exc.strerror}") from None
    if not files.can_write(home):
        raise UserError(f"the opsmart home {home} is not writable: point {HOME_ENV} at a folder you own")
    return home


def check_schema_name(name: str, source: str = SCHEMA_ENV) -> str:
    """``name`` when it can be a mart schema; a one-line error naming ``source`` otherwise."""
    if not _SCHEMA_NAME.match(name):
        raise UserError(
            f"{source} must be a lowercase schema name (letters, digits, _; at most 55 characters), "
            f"got {name!r}"
        )
    return name


def mart_schema() -> str:
    """The schema the marts are built in (``OPSMART_MART_SCHEMA``, default ``mart``)."""
    return check_schema_name(os.environ.get(SCHEMA_ENV) or DEFAULT_MART_SCHEMA)


def is_external() -> bool:
    return bool(os.environ.get(URL_ENV))


def checked_url(variable: str) -> str:
    """The URL in environment variable ``variable``; a one-line error when it is not one."""
    url = os.environ.get(variable, "")
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise UserError(f"{variable} is not a valid PostgreSQL URL: {exc}") from None
    return url


def origin() -> str:
    """Where the database URL comes from, for messages."""
    return f"from {URL_ENV}" if is_external() else f"the embedded server in {home_dir()}"


def database_url(*, start: bool = True) -> str:
    """The libpq URL of the database every command works on.

    With no ``OPSMART_DATABASE_URL`` this is the embedded server, started on
    demand when ``start`` is true.
    """
    if os.environ.get(URL_ENV):
        return checked_url(URL_ENV)
    from opsmart import localdb

    return localdb.url(start=start)


def describe(url: str) -> str:
    """host:port/database of a URL, without its password, for messages."""
    params = conninfo_to_dict(url)
    host = params.get("host") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    db = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or "postgres"
    return f"{host}:{port}/{db}"


def explain_connect_error(exc: psycopg.OperationalError, url: str) -> str:
    """Turn libpq's multi-line connection error into one line a user can act on."""
    text = str(exc)
    where = describe(url)
    user = conninfo_to_dict(url).get("user") or os.environ.get("PGUSER") or "(default)"
    if "password authentication failed" in text or "no password supplied" in text:
        return f"password authentication failed for user {user} at {where}"
    missing_db = re.search(r'database "([^"]+)" does not exist', text)
    if missing_db:
        return f'database "{missing_db.group(1)}" does not exist on {where.rsplit("/", 1)[0]}'
    missing_role = re.search(r'role "([^"]+)" does not exist', text)
    if missing_role:
        return f'role "{missing_role.group(1)}" does not exist on {where.rsplit("/", 1)[0]}'
    if any(s in text for s in ("Connection refused", "No such file or directory", "could not connect")):
        return (
            f"cannot connect to PostgreSQL at {where}: the server is not running or not accepting connections"
        )
    if "timeout expired" in text:
        return f"timed out connecting to PostgreSQL at {where}"
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    return f"cannot connect to PostgreSQL at {where}: {first}"


class _Connection(psycopg.Connection):
    """A psycopg connection that an interrupt closes instead of rolling back.

    On Ctrl-C psycopg has already asked the server to cancel the running query; a
    rollback could then find the connection still busy ("another command is
    already in progress"). Closing needs no answer, and the server rolls back
    whatever was open when its client goes.
    """

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt) and not self.closed:
            self.close()
            return
        super().__exit__(exc_type, exc_val, exc_tb)


def connect(url: str | None = None, **kwargs: Any) -> psycopg.Connection:
    """Open a psycopg connection, turning connection failures into one-line UserErrors."""
    url = url or database_url()
    kwargs.setdefault("connect_timeout", 10)
    kwargs.setdefault("application_name", "opsmart")
    try:
        return _Connection.connect(url, **kwargs)
    except psycopg.OperationalError as exc:
        raise UserError(explain_connect_error(exc, url)) from None


def libpq_env(url: str | None = None) -> dict[str, str]:
    """The PG* variables that make plain libpq clients (dbt, psql, pg_dump) use ``url``."""
    params = conninfo_to_dict(url or database_url())
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "dbname": "PGDATABASE",
        "sslmode": "PGSSLMODE",
    }
    env = {var: str(params[key]) for key, var in names.items() if params.get(key) not in (None, "")}
    env.setdefault("PGPORT", "5432")
    return env


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials as ``url``, another database."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(url, dbname=dbname)
