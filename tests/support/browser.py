"""A real browser for the tests: Debian's chromium, headless, driven over the DevTools protocol.

No driver binary and no browser download: chromium is started with a debugging
port and a fresh profile, and spoken to over one WebSocket (the ``websockets``
package). What a page logs as an error, throws, or fetches from the network is
collected while it loads.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
# As root in a container with no network: no sandbox, no GPU, and none of the
# background connections a closed network refuses.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--window-size=1100,900",
    "--remote-debugging-port=0",
)
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "devtools:")


class Page:
    """One browser tab: commands, and the events that arrive meanwhile."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.loaded = False

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(params["entry"]["text"])
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Page.loadEventFired":
            self.loaded = True

    def send(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        """Run a DevTools command and return its result."""
        ident = next(self.ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self._event(message)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, ready: str, timeout: float = 60) -> None:
        """Load ``url`` and wait until the JavaScript ``ready`` is truthy (and the load event fired)."""
        self.send("Page.navigate", url=url)
        ready = f"(() => {{ try {{ return {ready}; }} catch (e) {{ return null; }} }})()"  # mid-navigation
        deadline = time.monotonic() + timeout
        # evaluating first also takes in the events that arrived meanwhile (the load event among them)
        while not (self.evaluate(ready) and self.loaded):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not ready ({ready}) within {timeout} s; errors: {self.errors}")
            time.sleep(0.2)

    def screenshot(self) -> bytes:
        """The whole page as PNG (beyond the window)."""
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)
        return base64.b64decode(shot["data"])


def _devtools_port(profile: Path, proc: subprocess.Popen, log: Path, timeout: float = 30) -> int:
    """The port chromium chose: it writes it to DevToolsActivePort in its profile."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(marker.read_text().split()[0])
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its debugging port")


@contextlib.contextmanager
def browser(folder: Path) -> Iterator[Page]:
    """A headless chromium with a fresh profile in ``folder``, and its one tab; stopped afterwards."""
    from websockets.sync.client import connect

    assert CHROMIUM, "no chromium on PATH"
    profile = folder / "chromium-profile"
    profile.mkdir(parents=True)
    log = folder / "chromium.log"
    with log.open("w") as output:
        proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        port = _devtools_port(profile, proc, log)
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with no_proxy.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            tab = next(t for t in json.load(answer) if t["type"] == "page")
        with connect(tab["webSocketDebuggerUrl"], max_size=None, proxy=None) as socket:
            page = Page(socket)
            for domain in ("Page", "Runtime", "Log", "Network"):
                page.send(f"{domain}.enable")
            yield page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pixel_spread(png: bytes) -> tuple[float, int]:
    """Grey-level variance and the number of distinct colours of an image: a blank page has ~0 and 1."""
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    return ImageStat.Stat(image.convert("L")).var[0], len(colours) if colours else 1 << 20


def remote_requests(page: Page) -> list[str]:
    """What the page fetched from anywhere but itself."""
    return [url for url in page.requests if not url.startswith(LOCAL_SCHEMES)]
