"""What every generator session needs: its SQL files, its settings and the pg_temp helpers."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

import psycopg
from psycopg.types.json import Jsonb

from opsmart.errors import UserError
from opsmart.synth import vocabulary
from opsmart.synth.salts import salts


@functools.cache
def statement(name: str) -> str:
    """The text of ``sql/<name>.sql`` (e.g. ``generate/ops.event``)."""
    return resources.files(__package__).joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def mix(seed: int, namespace: str = "") -> int:
    """The number every hash of a session adds to its salt: the seed, and a namespace's own offset.

    A namespace (mutate's rounds have one each) gives the same salts new numbers and uuids.
    """
    offset = int(hashlib.sha256(namespace.encode()).hexdigest()[:12], 16) if namespace else 0
    return seed * 1_000_003 + offset


def prepare(conn: psycopg.Connection) -> None:
    """Transaction settings and the refusal shared by generate and mutate."""
    conn.execute("set local timezone = 'UTC'")
    conn.execute("set local jit = off")
    if conn.execute("select to_regclass('ops.organization')").fetchone() == (None,):
        raise UserError("database is not bootstrapped (no ops.organization): run `opsmart bootstrap` first")


def install_helpers(conn: psycopg.Connection, seed: int, namespace: str = "") -> None:
    """Create the pg_temp helpers (sql/helpers.sql) with the seed, salts and vocabulary baked in."""
    constants = {
        **vocabulary.parameters(),
        "mix": mix(seed, namespace),
        "prefix": f"{seed}:{namespace}",
        "salts": Jsonb(salts()),
    }
    # Function bodies take no bind parameters: the constants are rendered client-side.
    conn.execute(psycopg.ClientCursor(conn).mogrify(statement("helpers"), constants))
