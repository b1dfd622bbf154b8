"""Citus for a PostgreSQL server of ours: found in a cache, else built once from the vendored sources.

No registry these machines reach ships Citus, so its release tarballs are vendored
beside the repository (``../shared/vendor/citus``, or ``$OPSMART_CITUS_SOURCE``) and
checked against their sha256 before use. A build is ``./configure && make`` against
the server's own ``pg_config``; its files go to a cache outside any git work tree
(``/var/cache/opsmart`` as root, else ``~/.cache/opsmart``, or ``$OPSMART_CACHE_DIR``),
keyed by a fingerprint of that PostgreSQL build, so every new virtualenv of the same
wheel only copies them into its server (``lib/`` to ``pkglibdir``, ``share/`` to
``sharedir``). Debian's build packages are installed with apt when missing, and only
as root; any other user is told in one line which ones to install.
"""

from __future__ import annotations

import contextlib
import fcntl
import filecmp
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from opsmart import interrupts
from opsmart.errors import UserError

SOURCE_ENV = "OPSMART_CITUS_SOURCE"
CACHE_ENV = "OPSMART_CACHE_DIR"

# Release tarballs (git archive of the tags) and the PostgreSQL majors each one builds against.
RELEASES: dict[str, tuple[str, frozenset[int]]] = {
    "14.0.1": ("26ddb8ec9de07c5fa8426e435d10936e5cd6bed01a5ad94aab92e818081e5ec9", frozenset({16, 17, 18})),
    "13.2.2": ("c8fc76dc8294636a52b1a0dd75a20d8b4a36937df6443e30ca84d8d0464a6bb9", frozenset({15, 16, 17})),
}
BUILD_PACKAGES = (
    "gcc",
    "make",
    "libcurl4-openssl-dev",
    "liblz4-dev",
    "libzstd-dev",
    "libkrb5-dev",
    "libselinux1-dev",
    "libxslt1-dev",
    "libpam0g-dev",
    "autoconf",
    "flex",
    "bison",
)
# The embedded wheel's pg_config names a warning flag newer than Debian's gcc 12 knows.
UNKNOWN_CFLAGS = ("-Wmissing-variable-declarations",)
STAMP = "BUILD_OK"


@dataclass(frozen=True)
class Target:
    """The PostgreSQL installation Citus is built for and installed into."""

    pg_config: Path
    version: str  # e.g. "18.6"
    major: int
    pkglibdir: Path
    sharedir: Path
    fingerprint: str  # of version, configure flags and compiler: not of install paths

    @classmethod
    def of(cls, bindir: Path) -> Target:
        pg_config = bindir / "pg_config"
        if not os.access(pg_config, os.X_OK):
            raise UserError(f"no pg_config in {bindir}: cannot build Citus for that server")

        def ask(option: str) -> str:
            done = interrupts.run([str(pg_config), option], capture=True, timeout=30)
            if done.returncode != 0:
                raise UserError(f"{pg_config} {option} failed: {done.stderr.strip()}")
            return done.stdout.strip()

        version_line = ask("--version")
        fingerprint = fingerprint_of(version_line, ask("--configure"), ask("--cc"))
        match = re.search(r"(\d+)\.(\d+)", version_line)
        if not match:
            raise UserError(f"cannot read the PostgreSQL version from {pg_config}: {version_line!r}")
        return cls(
            pg_config=pg_config.resolve(),
            version=match.group(0),
            major=int(match.group(1)),
            pkglibdir=Path(ask("--pkglibdir")),
            sharedir=Path(ask("--sharedir")),
            fingerprint=fingerprint,
        )


def fingerprint_of(version: str, configure: str, cc: str) -> str:
    """Identity of a PostgreSQL build: what Citus' binaries depend on (16 hex digits)."""
    return hashlib.sha256(f"{version}\n{configure}\n{cc}\n".encode()).hexdigest()[:16]


def release_for(major: int) -> str:
    """The newest vendored Citus release that builds against PostgreSQL ``major``."""
    fitting = [v for v, (_, majors) in RELEASES.items() if major in majors]
    if not fitting:
        raise UserError(f"no vendored Citus release builds against PostgreSQL {major}")
    return max(fitting, key=lambda v: tuple(int(p) for p in v.split(".")))


def cleaned_cflags(cflags: str) -> str:
    """``pg_config --cflags`` without the flags the local compiler does not know."""
    return " ".join(flag for flag in cflags.split() if flag not in UNKNOWN_CFLAGS)


def source_dirs(repo: Path | None) -> list[Path]:
    """Where the vendored tarballs may be, in order: $OPSMART_CITUS_SOURCE, beside the repo, /work/shared."""
    if os.environ.get(SOURCE_ENV):
        return [Path(os.environ[SOURCE_ENV])]
    found = [repo.parent / "shared" / "vendor" / "citus"] if repo else []
    return [*found, Path("/work/shared/vendor/citus")]


def find_tarball(release: str, repo: Path | None) -> Path:
    name = f"citus-{release}.tar.gz"
    places = source_dirs(repo)
    for place in places:
        candidate = place if place.is_file() and place.name == name else place / name
        if candidate.is_file():
            return candidate
    where = ", ".join(str(p) for p in places)
    raise UserError(f"no Citus source {name} in {where}: set {SOURCE_ENV} to the folder that holds it")


def verified_tarball(release: str, repo: Path | None) -> Path:
    """The vendored tarball of ``release``, its sha256 checked."""
    tarball = find_tarball(release, repo)
    digest = sha256_of(tarball)
    if digest != RELEASES[release][0]:
        raise UserError(f"{tarball} is not the vendored Citus {release}: its sha256 is {digest}")
    return tarball


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def inside_git_work_tree(path: Path) -> bool:
    """Whether ``path`` is in a git work tree (a build there could be committed)."""
    return any((parent / ".git").exists() for parent in [path, *path.parents])


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        root = Path(os.environ[CACHE_ENV])
    elif os.geteuid() == 0:
        root = Path("/var/cache/opsmart")
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "opsmart"
    root = root.resolve()
    if inside_git_work_tree(root):
        raise UserError(f"the build cache {root} is inside a git work tree: point {CACHE_ENV} elsewhere")
    return root


def cache_dir(release: str, target: Target) -> Path:
    return cache_root() / f"citus-{release}-pg{target.version}-{target.fingerprint}"


def missing_packages(packages: tuple[str, ...] = BUILD_PACKAGES) -> list[str]:
    """The Debian packages of ``packages`` not installed ([] where there is no dpkg)."""
    if not shutil.which("dpkg-query"):
        return []
    done = interrupts.run(["dpkg-query", "-W", "-f=${Package} ${Status}\\n", *packages], capture=True)
    installed = {
        line.split()[0] for line in (done.stdout or "").splitlines() if line.endswith("install ok installed")
    }
    return [p for p in packages if p not in installed]


def _say(message: str) -> None:
    print(f"opsmart: {message}", file=sys.stderr, flush=True)


def ensure_packages(target: Target) -> None:
    """Install the missing build packages with apt (as root), or say which are missing."""
    wanted = BUILD_PACKAGES
    if str(target.pg_config).startswith("/usr/lib/postgresql/"):
        wanted = (*wanted, f"postgresql-server-dev-{target.major}")  # Debian's server headers
    missing = missing_packages(wanted)
    if not missing:
        return
    if os.geteuid() != 0:
        raise UserError(f"building Citus needs the Debian packages {' '.join(missing)}: install them as root")
    _say(f"installing the Citus build packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        done = interrupts.run(args, capture=True, env=env, timeout=900)
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
            raise UserError(f"{' '.join(args[:2])} failed: {lines[-1] if lines else done.returncode}")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One build per cache folder at a time (another process waits, then finds it built)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _step(args: list[str], cwd: Path, log: Path, what: str, env: dict[str, str] | None = None) -> None:
    with log.open("w") as out:
        done = interrupts.run(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=3600)
    if done.returncode != 0:
        lines = log.read_text(errors="replace").splitlines()
        # gcc's and configure's "error:" lines say what; make's "*** ... Error 2" only where
        errors = [ln for ln in lines if "error:" in ln] or [ln for ln in lines if ln.strip()][-1:]
        problem = errors[0].strip() if errors else f"exit status {done.returncode}"
        raise UserError(f"building Citus failed at {what}: {problem} (log: {log})")


def _extract(tarball: Path, into: Path) -> None:
    with tarfile.open(tarball) as tar:
        members = tar.getmembers()
        top = members[0].name.split("/")[0]
        for member in members:  # strip the top folder, like tar --strip-components=1
            member.name = member.name.partition("/")[2]
        kept = [m for m in members if m.name]
        for member in kept:  # Python 3.11.0-3.11.3 (Debian's 3.11.2) has no extraction filters
            _refuse_escape(member, tarball)
        if hasattr(tarfile, "tar_filter"):
            tar.extractall(into, members=kept, filter="tar")
        else:
            tar.extractall(into, members=kept)  # noqa: S202 - every member checked above
    if not (into / "configure").is_file():
        raise UserError(f"{tarball} holds no Citus source tree (top folder {top})")


def _refuse_escape(member: tarfile.TarInfo, tarball: Path) -> None:
    """What the "tar" filter refuses: a device, or a member or link target outside the folder."""
    names = [member.name]
    if member.issym():
        names.append(os.path.join(os.path.dirname(member.name), member.linkname))
    elif member.islnk():
        names.append(member.linkname)
    for name in names:
        normal = os.path.normpath(name)
        if member.isdev() or os.path.isabs(normal) or normal == ".." or normal.startswith("../"):
            raise UserError(f"{tarball}: refusing to extract {member.name!r}, pointing outside its folder")


def _build(release: str, target: Target, tarball: Path, folder: Path) -> float:
    """Configure, make and stage Citus in ``folder``; its ``artifacts`` are kept, the rest goes."""
    ensure_packages(target)
    started = time.monotonic()
    src, stage, artifacts = folder / "src", folder / "stage", folder / "artifacts"
    for old in (src, stage, artifacts, folder / STAMP):
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    src.mkdir()
    _extract(tarball, src)
    cflags = cleaned_cflags(interrupts.run([str(target.pg_config), "--cflags"], capture=True).stdout.strip())
    _step(["./configure", f"PG_CONFIG={target.pg_config}"], src, folder / "configure.log", "configure")
    jobs = str(os.cpu_count() or 2)
    _step(["make", f"-j{jobs}", f"CFLAGS={cflags}"], src, folder / "make.log", "make")
    _step(
        ["make", "install", f"DESTDIR={stage}", f"CFLAGS={cflags}"],
        src,
        folder / "install.log",
        "make install",
    )
    # Re-rooted relative to the server's folders, so the cache fits every venv of this build.
    for staged, kept in ((target.pkglibdir, "lib"), (target.sharedir, "share")):
        shutil.copytree(stage / staged.relative_to("/"), artifacts / kept)
    if not (artifacts / "lib" / "citus.so").is_file():
        raise UserError(f"building Citus produced no citus.so (logs in {folder})")
    shutil.rmtree(src)
    shutil.rmtree(stage)
    seconds = time.monotonic() - started
    (folder / STAMP).write_text(
        f"citus={release}\npg_version={target.version}\nfingerprint={target.fingerprint}\n"
        f"built_from={target.pg_config}\nbuild_seconds={seconds:.1f}\n"
    )
    return seconds


def _artifact_files(artifacts: Path) -> Iterator[tuple[Path, Path]]:
    """(cached file, path relative to the server folder it goes to) for every artifact."""
    for kept in ("lib", "share"):
        for path in sorted((artifacts / kept).rglob("*")):
            if path.is_file():
                yield path, Path(kept) / path.relative_to(artifacts / kept)


def _install(artifacts: Path, target: Target) -> bool:
    """Copy the artifacts into the server's folders; False when they were all there already."""
    places = {"lib": target.pkglibdir, "share": target.sharedir}
    changed = False
    for path, relative in _artifact_files(artifacts):
        destination = places[relative.parts[0]] / Path(*relative.parts[1:])
        if destination.is_file() and filecmp.cmp(path, destination, shallow=False):
            continue
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            destination.chmod(0o755 if destination.suffix == ".so" else 0o644)  # the server's OS user reads
        except OSError as exc:
            raise UserError(f"cannot install Citus into {destination.parent}: {exc.strerror}") from None
        changed = True
    return changed


def installed_release(target: Target) -> str | None:
    """The Citus release whose extension files are in the server's sharedir, or None."""
    control = target.sharedir / "extension" / "citus.control"
    if not (target.pkglibdir / "citus.so").is_file() or not control.is_file():
        return None
    match = re.search(r"default_version\s*=\s*'([^']+)'", control.read_text())
    return match.group(1) if match else "unknown"


def ensure(bindir: Path, repo: Path | None = None, *, rebuild: bool = False) -> str:
    """Citus in the server of ``bindir``: found, copied from the cache, or built; says which."""
    target = Target.of(bindir)
    release = release_for(target.major)
    folder = cache_dir(release, target)
    with _locked(folder):
        built = None
        if rebuild or not (folder / STAMP).is_file():
            tarball = verified_tarball(release, repo)
            _say(f"building Citus {release} for PostgreSQL {target.version} once (about a minute on 2 cores)")
            built = _build(release, target, tarball, folder)
        copied = _install(folder / "artifacts", target)
    how = f"built in {built:.0f} s" if built is not None else "from the cache"
    verb = "installed" if copied else "already installed"
    return f"Citus {release} {verb} for PostgreSQL {target.version} ({how}: {folder})"
