"""What changed: the commits that touched a site's declared config around the incident.

Read with ``git`` itself, read-only: ``git log`` and ``git show`` run from the repository
root with ``--no-optional-locks`` (not even the index is refreshed). The paths are the site's
``config.env``, its rendered values and its release's templates; for each commit, the
config.env keys whose values it changed (``REDIS_MEMORY_LIMIT 512Mi → 2Gi``; a secret key is
named, never its values). The first commit after the breach began that changed a key a
root-cause candidate names is marked as the fix. Outside a git repository, or without git,
the draft says so and goes on without.
"""

from __future__ import annotations

import datetime as _dt
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..findings.mdtext import code, prose
from ..redact import MASK, is_secret_key
from ..repo.envfile import parse_env

__all__ = ["Commit", "KeyChange", "commits", "mark_fix"]

MAX_COMMITS = 200  # of the paths' history, newest first: far more than a day of changes
_FIELD, _RECORD = "\x1f", "\x1e"


@dataclass(frozen=True)
class KeyChange:
    key: str
    before: str | None  # None: added
    after: str | None  # None: removed

    @property
    def text(self) -> str:
        if is_secret_key(self.key):
            return f"{self.key} changed"
        if self.before is None:
            return f"{self.key} added ({self.after})"
        if self.after is None:
            return f"{self.key} removed (was {self.before})"
        return f"{self.key} {self.before} → {self.after}"

    @property
    def markdown(self) -> str:
        """:attr:`text` with the key as code, so it reads as the name it is."""
        return code(self.key) + prose(self.text[len(self.key):])


@dataclass(frozen=True)
class Commit:
    hash: str
    short: str
    time: _dt.datetime
    author: str
    subject: str
    files: tuple[str, ...]
    keys: tuple[KeyChange, ...] = ()
    first: bool = False  # the commit that added the config.env (no earlier version to compare)
    fix: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time.isoformat()}


class GitUnavailable(Exception):
    """Why the history cannot be read: one line for the draft."""


def _git(root: Path, *args: str, timeout: float) -> str:
    try:
        done = subprocess.run(["git", "--no-optional-locks", "-c", "core.quotepath=off", *args], cwd=root,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise GitUnavailable("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitUnavailable(f"git {args[0]} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise GitUnavailable(f"cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[0]
        if "not a git repository" in first:
            raise GitUnavailable(f"{root} is not in a git repository")
        raise GitUnavailable(f"git {args[0]}: {first}")
    return done.stdout


def _env_at(root: Path, revision: str, path: str, timeout: float) -> dict[str, str] | None:
    try:
        text = _git(root, "show", f"{revision}:./{path}", timeout=timeout)
    except GitUnavailable:
        return None  # the file did not exist in that revision
    return parse_env(text, path).values


def _changes(before: dict[str, str], after: dict[str, str]) -> tuple[KeyChange, ...]:
    changed = []
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        if is_secret_key(key):  # a secret's values are never kept, not even to be left unsaid
            was, now = (MASK if was is not None else None), (MASK if now is not None else None)
        changed.append(KeyChange(key, was, now))
    return tuple(changed)


def commits(
    root: Path, paths: Sequence[str], env_path: str, since: _dt.datetime, *, timeout: float = 10.0
) -> list[Commit]:
    """Commits since ``since`` that touched ``paths`` (relative to ``root``), oldest first.
    Raises :class:`GitUnavailable` with the reason when the history cannot be read."""
    out = _git(
        root,
        "log",
        f"-n{MAX_COMMITS}",
        "--no-color",
        "--no-renames",
        "--relative",
        f"--format={_RECORD}%H{_FIELD}%h{_FIELD}%ct{_FIELD}%an{_FIELD}%s",
        "--name-only",
        "--",
        *paths,
        timeout=timeout,
    )
    found = []
    for record in out.split(_RECORD)[1:]:
        head, _, names = record.partition("\n")
        fields = head.split(_FIELD)
        if len(fields) != 5:
            continue
        full, short, stamp, author, subject = fields
        at = _dt.datetime.fromtimestamp(int(stamp), _dt.timezone.utc)
        if at < since:
            continue
        files = tuple(n.strip() for n in names.splitlines() if n.strip())
        if not files:
            continue  # a merge: its changes are listed with the commits it brought
        keys: tuple[KeyChange, ...] = ()
        first = False
        if env_path in files:
            after = _env_at(root, full, env_path, timeout) or {}
            before = _env_at(root, f"{full}^", env_path, timeout)
            first = before is None
            keys = () if before is None else _changes(before, after)
        found.append(Commit(full, short, at, author, subject, files, keys, first))
    return sorted(found, key=lambda c: (c.time, c.hash))


def mark_fix(found: Iterable[Commit], after: _dt.datetime | None, keys: Iterable[str]) -> list[Commit]:
    """``found`` with the fix marked: the first commit at or after ``after`` (the breach's
    start) that changed one of ``keys`` (the root-cause candidates' keys)."""
    wanted = set(keys)
    marked, done = [], False
    for commit in found:
        if not done and after is not None and commit.time >= after and any(k.key in wanted for k in commit.keys):
            commit, done = replace(commit, fix=True), True
        marked.append(commit)
    return marked
