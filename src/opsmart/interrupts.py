"""Ctrl-C and termination signals: opsmart stops, and so does every process it started.

Children (dbt, pg_dump, psql, initdb, ...) start through ``run`` or ``popen``, each
in a process group of its own, so a terminal's Ctrl-C reaches opsmart alone and
opsmart stops them all the same way: SIGTERM to every child's group at once, and
SIGKILL to whatever is left ``GRACE_SECONDS`` later. The signal then becomes
``KeyboardInterrupt`` in the main thread (``Terminated`` for SIGTERM and SIGHUP),
which unwinds the work: open transactions end without a commit, partial files go.
On the way out ``handling`` waits for the children, so none outlives opsmart.

Once stopping has begun no child starts, children's stderr is no longer passed on
(their complaints about being stopped are not news), a thread that ends by the
interrupt ends quietly, and a further signal only kills the children at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

GRACE_SECONDS = 10.0
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_lock = threading.RLock()
_children: set[subprocess.Popen] = set()
_stopping = threading.Event()
_deferring = 0  # depth of deferred() blocks in the main thread
_pending: list[int] = []  # signals that arrived inside them
_relays: dict[subprocess.Popen, threading.Thread] = {}


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stops the work like Ctrl-C does."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(exc: KeyboardInterrupt) -> int:
    """The shell's convention for a command stopped by a signal: 128 + its number (130 for Ctrl-C)."""
    return 128 + (exc.signum if isinstance(exc, Terminated) else signal.SIGINT)


def exit_process(status: int) -> NoReturn:
    """End this process now with ``status``, once an interrupt has been handled and reported.

    CPython ends its process by SIGINT, whatever status it was asked for, once a
    KeyboardInterrupt has escaped code run by exec() or eval() of a string (as
    dataclasses and namedtuples make their methods while modules import), even
    if the program caught it later. The children are stopped, the connections
    closed and the report written by now; only the output buffers need flushing.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _signal_groups(procs: Sequence[subprocess.Popen], signum: int) -> None:
    for proc in procs:
        # Each child leads its own group: the group holds its own children too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)


def _on_signal(signum: int, frame: object) -> None:
    with _lock:
        children = list(_children)
    if _stopping.is_set():
        _signal_groups(children, signal.SIGKILL)  # asked again: no more waiting
        return
    if _deferring:
        _pending.append(signum)
        return
    _stopping.set()
    _signal_groups(children, signal.SIGTERM)
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A signal that arrives inside takes effect when the block ends (main thread; elsewhere a no-op).

    For steps that must not be cut in two, such as a commit and the report of it.
    """
    global _deferring
    if not _in_main_thread():
        yield
        return
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending:
            signum = _pending[0]
            _pending.clear()
            _on_signal(signum, None)


def _quiet_when_stopping(hook: Any) -> Any:
    def excepthook(args: threading.ExceptHookArgs) -> None:
        if _stopping.is_set() and issubclass(args.exc_type, KeyboardInterrupt):
            return  # a background thread stopped by the interrupt: the main thread reports it
        hook(args)

    return excepthook


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Signals stop the work inside as described above; on the way out no child is left running.

    The previous signal handlers come back afterwards, unless a signal stopped the
    work: then the process is on its way out, and further signals are ignored.
    A signal the parent process ignores (``nohup``, a background job) stays ignored.
    """
    if not _in_main_thread():  # only the main thread receives signals and may set their handlers
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, _on_signal)
    hook = threading.excepthook
    threading.excepthook = _quiet_when_stopping(hook)
    _stopping.clear()
    try:
        yield
    finally:
        interrupted = _stopping.is_set()
        stop_children()
        threading.excepthook = hook
        for signum, handler in previous.items():
            if handler is signal.SIG_IGN:
                continue
            signal.signal(signum, signal.SIG_IGN if interrupted else handler)
        _stopping.clear()


def stop_children(grace: float = GRACE_SECONDS) -> None:
    """Stop every child still running: SIGTERM to its group, SIGKILL to what is left after ``grace`` s."""
    with _lock:
        _stopping.set()
        procs = list(_children)
    if not procs:
        return
    _signal_groups(procs, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    _signal_groups(procs, signal.SIGKILL)  # whatever a child left behind in its group
    for proc in procs:
        proc.wait()
        forget(proc)


def _relay(stream: Any) -> None:
    """Pass a child's stderr on to ours until it closes, and nothing once stopping has begun."""
    fd = stream.fileno()
    out = getattr(sys.stderr, "buffer", None)
    with stream:
        while chunk := os.read(fd, 65536):
            if _stopping.is_set():
                continue
            if out is not None:
                out.write(chunk)
                out.flush()
            else:
                sys.stderr.write(chunk.decode(errors="replace"))


def popen(args: Sequence[str], **kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen`` for a child that stops with opsmart; a stderr not redirected is relayed.

    The caller waits for the child and then calls ``forget``; ``run`` does both.
    """
    relay = kwargs.get("stderr") is None
    if relay:
        kwargs["stderr"] = subprocess.PIPE
    with _lock, deferred():
        if _stopping.is_set():
            raise KeyboardInterrupt
        proc = subprocess.Popen(args, process_group=0, **kwargs)
        _children.add(proc)
    if relay:
        relay_thread = threading.Thread(target=_relay, args=(proc.stderr,), daemon=True)
        relay_thread.start()
        with _lock:
            _relays[proc] = relay_thread
    return proc


def forget(proc: subprocess.Popen) -> None:
    """``proc`` has been waited for: it no longer needs stopping (and its relayed stderr is through)."""
    with _lock:
        _children.discard(proc)
        relay_thread = _relays.pop(proc, None)
    if relay_thread is not None:
        relay_thread.join(timeout=2)  # a grandchild may hold the pipe: do not wait for it


def stop(proc: subprocess.Popen, grace: float = GRACE_SECONDS) -> None:
    """Stop one child (SIGTERM, then SIGKILL after ``grace`` s) and wait for it."""
    _signal_groups([proc], signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    _signal_groups([proc], signal.SIGKILL)
    proc.wait()
    forget(proc)


def run(
    args: Sequence[str],
    *,
    capture: bool = False,
    timeout: float | None = None,
    **kwargs: Any,
) -> subprocess.CompletedProcess[str]:
    """Run a child to its end (text mode); it stops with opsmart.

    With ``capture`` its stdout and stderr are returned; otherwise its stdout is
    ours and its stderr relayed. Past ``timeout`` seconds it is stopped and
    ``subprocess.TimeoutExpired`` raised.
    """
    if capture:
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc = popen(args, text=True, **kwargs)
    try:
        if capture:
            out, err = proc.communicate(timeout=timeout)
        else:
            proc.wait(timeout=timeout)
            out = err = None
    except BaseException:
        stop(proc)
        raise
    forget(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
