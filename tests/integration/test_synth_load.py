"""synth.load: the bulk load sets keys, indexes and triggers aside and restores them, in one transaction."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support import generate_tiny, rows, value

from opsmart.digest import digest
from opsmart.synth import generate

# The load attaches partitions and rebuilds constraints: both behave differently across versions.
pytestmark = pytest.mark.every_server

# What the load sets aside or replaces, as the catalog shows it: constraints (with
# their definitions and whether validated), indexes, triggers (with whether enabled),
# tables and their partitions (with their storage options).
CATALOG = """
select 'constraint', conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
       || ' ' || convalidated::text
from pg_constraint where connamespace in ('core'::regnamespace, 'ops'::regnamespace)
union all
select 'index', indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid) from pg_index
where indrelid in (select oid from pg_class where relnamespace in ('core'::regnamespace, 'ops'::regnamespace))
union all
select 'table', oid::regclass::text || ' ' || relispartition::text || ' ' || coalesce(reloptions::text, '')
from pg_class where relkind in ('r', 'p') and relnamespace in ('core'::regnamespace, 'ops'::regnamespace)
union all
select 'trigger', tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text from pg_trigger
where not tgisinternal
  and tgrelid in (select oid from pg_class where relnamespace in ('core'::regnamespace, 'ops'::regnamespace))
order by 1, 2
"""


def test_the_load_leaves_every_key_index_and_trigger_as_it_found_them(db_url: str) -> None:
    before = rows(db_url, CATALOG)
    generate_tiny(db_url)
    assert rows(db_url, CATALOG) == before
    assert value(db_url, "select count(*) from pg_constraint where contype = 'f'") > 20


def test_a_failed_load_leaves_nothing_behind(
    make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_database()
    before, catalog = digest(url), rows(url, CATALOG)
    real = generate.Step.source

    def broken(step: generate.Step) -> str:
        if step.table == "ops.message":
            return "select 1 / 0 as session_id"
        return real.fget(step)  # type: ignore[attr-defined]

    monkeypatch.setattr(generate.Step, "source", property(broken))
    with pytest.raises(Exception, match="division by zero"):
        generate_tiny(url)
    assert digest(url) == before
    assert rows(url, CATALOG) == catalog
    assert value(url, "select count(*) from pg_namespace where nspname = 'synth_staging'") == 0
