"""Helpers of the fleet tests: headless Chromium (Debian's package) on local files only."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

__all__ = ["RowParser", "chromium", "dump_dom", "screenshot"]

# Nothing but local files: every host name fails to resolve, and the background services
# (updates, sync, safe browsing) that would call home are off.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND",
)


def chromium(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    assert binary, "chromium not installed: apt-get install -y chromium"
    with tempfile.TemporaryDirectory(prefix="slo-chromium-") as profile:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(page: Path, fragment: str = "") -> str:
    """The DOM after the page's scripts ran, as the browser holds it."""
    done = chromium("--virtual-time-budget=3000", "--dump-dom", page.resolve().as_uri() + fragment)
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


def screenshot(page: Path, out: Path, size: str = "1400,900") -> Path:
    done = chromium(f"--screenshot={out}", f"--window-size={size}", "--hide-scrollbars", page.resolve().as_uri())
    assert out.is_file() and out.stat().st_size > 1000, done.stderr[-2000:]
    return out


class RowParser(HTMLParser):
    """The finding rows (their data-* attributes and classes) and the runbook links of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.runbooks: list[str] = []
        self.shown = ""
        self._in_shown = False
        #: the summary cards' numbers, by severity (and "errors")
        self.cards: dict[str, int] = {}
        self._card: str | None = None
        self.ready_ms: int | None = None
        self.loaded_ms: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if "finding" in classes:
            self.rows.append(
                {**{k[5:]: v for k, v in a.items() if k.startswith("data-")}, "hidden": "hidden" in classes}
            )
        if tag == "a" and "runbook" in classes and a.get("href"):
            self.runbooks.append(str(a["href"]))
        if tag == "span" and a.get("id") == "shown":
            self._in_shown = True
        if "card" in classes and a.get("data-severity"):
            self._card = str(a["data-severity"])
        if tag == "body" and a.get("data-ready-ms"):
            self.ready_ms = int(str(a["data-ready-ms"]))
        if tag == "body" and a.get("data-loaded-ms"):
            self.loaded_ms = int(str(a["data-loaded-ms"]))

    def handle_endtag(self, tag: str) -> None:
        self._in_shown = False if tag == "span" else self._in_shown

    def handle_data(self, data: str) -> None:
        if self._in_shown:
            self.shown += data
        if self._card is not None and data.strip().isdigit():
            self.cards[self._card] = int(data.strip())
            self._card = None

    @classmethod
    def of(cls, html: str) -> RowParser:
        parser = cls()
        parser.feed(html)
        return parser


def external_references(html: str) -> list[str]:
    """Every src/href (and CSS url()) that would make the browser fetch something remote."""
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html) + re.findall(r"url\(([^)]*)\)", html)
    return [r for r in refs if re.match(r"^(https?:)?//", r.strip("'\""))]
