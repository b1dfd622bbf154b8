"""The cluster's pure parts: release, cache, tarball, compiler flags, a failed step's one line."""

from __future__ import annotations

import io
import tarfile
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


def _tarball(path: Path, *members: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            data = b"#!/bin/sh\n" if member.isfile() else b""
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, link
    return member


@pytest.mark.parametrize("with_filters", [True, False], ids=["tar filter", "python without filters"])
def test_the_source_tarball_is_extracted_without_its_top_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_filters: bool
) -> None:
    if not with_filters:  # as on Python 3.11.0-3.11.3 (Debian's 3.11.2)
        monkeypatch.delattr(tarfile, "tar_filter", raising=False)
    tarball = _tarball(
        tmp_path / "citus.tar.gz",
        _member("citus-14.0.1", tarfile.DIRTYPE),
        _member("citus-14.0.1/configure"),
        _member("citus-14.0.1/src/link", tarfile.SYMTYPE, "../configure"),
    )
    build._extract(tarball, tmp_path / "src")
    assert (tmp_path / "src" / "configure").read_bytes() == b"#!/bin/sh\n"
    assert (tmp_path / "src" / "src" / "link").resolve() == (tmp_path / "src" / "configure").resolve()


@pytest.mark.parametrize(
    "escape",
    [
        _member("citus-14.0.1/../../outside"),
        _member("citus-14.0.1/link", tarfile.SYMTYPE, "../../outside"),
        _member("citus-14.0.1/link", tarfile.SYMTYPE, "/etc/passwd"),
    ],
    ids=["dot-dot", "relative link", "absolute link"],
)
def test_a_tarball_member_pointing_outside_its_folder_is_refused(
    tmp_path: Path, escape: tarfile.TarInfo
) -> None:
    tarball = _tarball(tmp_path / "bad.tar.gz", _member("citus-14.0.1/configure"), escape)
    with pytest.raises(UserError, match="refusing to extract"):
        build._extract(tarball, tmp_path / "deep" / "src")
    assert not (tmp_path / "outside").exists()


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
