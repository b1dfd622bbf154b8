"""Helpers the interrupt and bad-input tests share: a CLI process to interrupt, and what it left behind.

``Cli`` runs the real ``opsmart`` in a subprocess, watching every process it
starts, so that a test can interrupt it at a point where its work is under way
(a backend shows the query, a file appears) and then check that nothing it
started outlived it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg

from opsmart import connection

REPO = Path(__file__).resolve().parents[2]


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def default_signals() -> None:
    """A child's ``preexec_fn``: the stop signals' default dispositions, whatever the test process has.

    An ignored signal stays ignored across exec. A shell that starts a job in the
    background (as CI may) leaves SIGINT ignored, and Dagster then leaves SIGTERM
    ignored too (its ``capture_interrupts``, in-process in test_orchestration, maps
    SIGTERM to SIGINT's handler on the way out). A process that inherits that never
    sees Ctrl-C or SIGTERM; opsmart keeps a signal its parent ignores ignored (nohup),
    so the processes under test start with the dispositions a service manager gives them.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)


def cli_env(url: str | None, **extra: str) -> dict[str, str]:
    """The environment of a CLI run: OPSMART_DATABASE_URL is ``url`` (unset when None) plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != connection.URL_ENV}
    if url is not None:
        env[connection.URL_ENV] = url
    env.update(extra)
    return env


class Cli:
    """One ``opsmart`` process, started now; every process it starts is remembered."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        # Files, not pipes: a child that outlives opsmart must not hold the test up.
        self._out = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by close()
        self._err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opsmart.cli", *args],
            env=env,
            cwd=REPO,
            stdout=self._out,
            stderr=self._err,
            text=True,
            preexec_fn=default_signals,
        )
        self.started: dict[int, psutil.Process] = {}
        self._watching = threading.Event()
        self._watching.set()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        with_children = psutil.Process(self.proc.pid)
        while self._watching.is_set():
            try:
                for child in with_children.children(recursive=True):
                    self.started.setdefault(child.pid, child)
            except psutil.Error:
                return
            time.sleep(0.05)

    def children(self, name: str) -> list[psutil.Process]:
        """Running processes started by the CLI whose command line mentions ``name``."""
        found = []
        for child in list(self.started.values()):
            try:
                if child.is_running() and any(name in part for part in child.cmdline()):
                    found.append(child)
            except psutil.Error:
                continue
        return found

    def signal(self, signum: int = signal.SIGINT) -> None:
        assert self.proc.poll() is None, f"opsmart ended before the signal: {self.result()}"
        os.kill(self.proc.pid, signum)

    def result(self, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Waits for the CLI to end; its exit status and output. Still running after ``timeout`` s: the
        test fails with what the CLI printed and the state of its signals and children."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"opsmart still runs after {timeout} s:\n{self._state()}") from None
        finally:
            self._watching.clear()
            self._watcher.join()
        self._out.seek(0)
        self._err.seek(0)
        return subprocess.CompletedProcess(
            self.proc.args, self.proc.returncode, self._out.read(), self._err.read()
        )

    def _state(self) -> str:
        """What a hung CLI shows: its output so far, its signal masks and the processes it started."""
        lines = []
        for pid in [self.proc.pid, *self.started]:
            try:
                status = Path(f"/proc/{pid}/status").read_text().splitlines()
                wchan = Path(f"/proc/{pid}/wchan").read_text()
                cmd = " ".join(psutil.Process(pid).cmdline())[:160]
            except (OSError, psutil.Error):
                continue
            keep = [line for line in status if line.startswith(("State", "Sig", "Shd"))]
            lines.append(f"{pid} {cmd} wchan={wchan} " + " ".join(keep))
        self._out.seek(0)
        self._err.seek(0)
        return "\n".join([*lines, "stdout:", self._out.read()[-3000:], "stderr:", self._err.read()[-2000:]])

    def survivors(self) -> list[str]:
        """Processes the CLI started that still run (it has ended); killed, so they cannot linger."""
        left = []
        for child in self.started.values():
            try:
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                    left.append(" ".join(child.cmdline())[:200])
                    child.kill()
            except psutil.Error:
                continue
        return left

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._watching.clear()
        self.survivors()
        self._out.close()
        self._err.close()


def wait_until(condition: Callable[[], object], what: str, timeout: float = 60.0) -> object:
    """The first true value of ``condition()``, polled; fails the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def backend(url: str, where: str, params: list | None = None) -> int | None:
    """Pid of a backend of this database matching ``where`` (SQL over pg_stat_activity), or None."""
    dbname = connection.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            f"select pid from pg_stat_activity where datname = %s and pid <> pg_backend_pid() and ({where})",
            [dbname, *(params or [])],
        ).fetchone()
    return row[0] if row else None


def no_backend(url: str, where: str, params: list | None = None, timeout: float = 30.0) -> None:
    """Waits until no backend of this database matches ``where``."""
    wait_until(lambda: backend(url, where, params) is None, f"backends gone where {where}", timeout)


def assert_one_line(result: subprocess.CompletedProcess[str], fragment: str = "") -> str:
    """A failed run: non-zero exit, one ``opsmart:`` line on stderr holding ``fragment``, no traceback."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("opsmart: "), lines[0]
    assert fragment in lines[0], lines[0]
    return lines[0]


def assert_interrupted(cli: Cli, result: subprocess.CompletedProcess[str]) -> None:
    """Ctrl-C's outcome: exit 130, one line, and no process the CLI started still running."""
    assert result.returncode == 130, (result.returncode, result.stderr)
    assert_one_line(result, "interrupted")
    assert not cli.survivors()
