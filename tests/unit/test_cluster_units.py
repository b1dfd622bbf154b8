"""The cluster's pure parts: release, cache, tarball, compiler flags, a failed step's one line."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from opsmart.cluster import build, nodes
from opsmart.errors import UserError


def test_the_newest_release_that_supports_the_server_is_chosen() -> None:
    assert build.release_for(18) == "14.0.1"
    assert build.release_for(16) == "14.0.1"
    assert build.release_for(15) == "13.2.2"
    with pytest.raises(UserError, match="no vendored Citus release builds against PostgreSQL 14"):
        build.release_for(14)


def test_the_fingerprint_changes_with_the_postgresql_build_only() -> None:
    a = build.fingerprint_of("PostgreSQL 18.6", "'--prefix=/x'", "gcc")
    assert a == build.fingerprint_of("PostgreSQL 18.6", "'--prefix=/x'", "gcc")
    assert len(a) == 16
    assert a != build.fingerprint_of("PostgreSQL 18.6", "'--prefix=/x' '--with-lz4'", "gcc")
    assert a != build.fingerprint_of("PostgreSQL 18.7", "'--prefix=/x'", "gcc")


def test_flags_gcc_does_not_know_are_dropped() -> None:
    flags = "-Wall -Wmissing-prototypes -Wmissing-variable-declarations -O2"
    assert build.cleaned_cflags(flags) == "-Wall -Wmissing-prototypes -O2"


def test_the_cache_is_never_inside_a_git_work_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "clone" / ".git").mkdir(parents=True)
    monkeypatch.setenv(build.CACHE_ENV, str(tmp_path / "clone" / "cache"))
    with pytest.raises(UserError, match="inside a git work tree"):
        build.cache_root()
    monkeypatch.setenv(build.CACHE_ENV, str(tmp_path / "cache"))
    assert build.cache_root() == (tmp_path / "cache").resolve()


def test_the_tarball_is_looked_for_where_told_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(build.SOURCE_ENV, str(tmp_path))
    with pytest.raises(UserError, match=r"no Citus source citus-14\.0\.1\.tar\.gz in .*OPSMART_CITUS_SOURCE"):
        build.verified_tarball("14.0.1", None)
    (tmp_path / "citus-14.0.1.tar.gz").write_bytes(b"not the release")
    with pytest.raises(UserError, match=r"is not the vendored Citus 14\.0\.1: its sha256 is"):
        build.verified_tarball("14.0.1", None)


def test_without_the_variable_the_tarball_is_looked_for_beside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(build.SOURCE_ENV, raising=False)
    places = build.source_dirs(tmp_path / "repo")
    assert places[0] == tmp_path / "shared" / "vendor" / "citus"


def test_a_failed_build_step_is_one_line_naming_the_compilers_error(tmp_path: Path) -> None:
    script = "echo 'gcc -Werror=vla -c x.c'; echo 'x.c:3:1: error: unknown type name foo'; exit 2"
    with pytest.raises(UserError) as failed:
        build._step(["sh", "-c", script], tmp_path, tmp_path / "make.log", "make")
    message = str(failed.value)
    assert message.startswith("building Citus failed at make: x.c:3:1: error: unknown type name foo")
    assert str(tmp_path / "make.log") in message and "\n" not in message


def test_socket_folders_fall_back_to_a_short_path_when_the_cluster_is_deep(tmp_path: Path) -> None:
    # a short root of its own: pytest's tmp_path is longer under xdist (popen-gwN)
    near = Path(tempfile.mkdtemp())
    try:
        assert nodes.socket_root(near) == near / "run"
    finally:
        near.rmdir()
    deep = tmp_path / ("d" * 90)
    short = nodes.socket_root(deep)
    assert short.parent == Path(tempfile.gettempdir()) and short.name.startswith("opsmart-cluster-")
    assert short == nodes.socket_root(deep)  # the same cluster finds the same folder
    assert len(str(short / "worker-16" / ".s.PGSQL.65535")) <= nodes.SOCKET_LIMIT
