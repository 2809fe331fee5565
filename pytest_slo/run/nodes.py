"""pytest collectors and items: a site's config.env, its apps, and one item per check.

Node ids read ``sites/production/config.env::redis-cluster::redis-eviction-policy``;
site-wide checks sit directly under the file (``sites/production/config.env::config-schema``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..catalog.model import Check, runbook_problem
from ..catalog.runbooks import runbook
from ..catalog.waivers import WAIVERS_FILE, Waiver
from ..errors import CatalogError, SloError
from ..kinds.base import Location, Target, Verdict
from .context import RUN_KEY, RunContext

__all__ = [
    "AppNode",
    "CatalogFile",
    "CatalogItem",
    "CheckFailed",
    "CheckGroup",
    "KindDefect",
    "SetupError",
    "SiteFile",
    "SloItem",
    "WaiverFile",
    "WaiverItem",
    "collector_for",
    "unwrap",
]

LIVE_SKIP = "live check: pass --live (or set slo_live = true) to query Prometheus, Redis and Kubernetes"


class CheckFailed(AssertionError):
    """A check's verdict was negative: an assertion carrying the evidence, not a crash.
    The only exception an slo item's call phase raises, so the only way it *fails*."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


class KindDefect(SloError):
    """A kind raised something other than an SloError, or returned no Verdict: a bug of
    pytest-slo or of the plugin that provides the kind. The item errors; it is no finding
    about the system."""


def _run(node: pytest.Item | pytest.Collector) -> RunContext:
    return node.config.stash[RUN_KEY]


_RUNNABLE = pytest.StashKey[list[pytest.Item]]()


def _runnable(session: pytest.Session) -> list[pytest.Item]:
    """The session's items a kind may batch reads for: not those of checks that cannot run
    (their fields are not what the kind expects). Computed once per session."""
    items = session.stash.get(_RUNNABLE, None)
    if items is None:
        items = session.stash[_RUNNABLE] = [
            i for i in session.items if not (isinstance(i, SloItem) and i.check.problem)
        ]
    return items


# the documented exception type of pytest.fail(); a function attribute, so no type to mypy
_Failed = pytest.fail.Exception


class SetupError(_Failed):  # type: ignore[misc,valid-type]
    """What an item's setup raises for an :class:`SloError`: the error itself, as a failure
    without a Python traceback (``pytrace=False``). pytest renders a setup error's traceback,
    with the source of every frame, before any hook can replace it: over 0.1 s an error,
    seconds through client libraries, for a report that shows one line anyway."""

    def __init__(self, error: SloError) -> None:
        super().__init__(str(error), pytrace=False)
        self.error = error


def _bare(exc: SloError) -> SetupError:
    return SetupError(exc)


def unwrap(exc: BaseException | None) -> BaseException | None:
    """The :class:`SloError` behind a :class:`SetupError`, else ``exc``."""
    return exc.error if isinstance(exc, SetupError) else exc


class SloItem(pytest.Item):
    """One check against one site (and app).

    Reading and judging happen in ``setup``, so that anything but a verdict (a source that
    is down, input that cannot be judged, a broken catalog entry, a bug) is reported by
    pytest as an *error*; ``runtest`` only raises the verdict, so only a verdict *fails*.
    """

    def __init__(self, *, check: Check, target: Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.target = target
        self.verdict: Verdict | None = None
        run = _run(self)
        kind = run.registry[check.kind] if check.kind in run.registry else None
        self.kind = kind
        if kind is None:
            self.add_marker(pytest.mark.slo)
        else:
            # a check that cannot run errors with or without --live: the catalog is offline
            broken = check.problem is not None or (check.id, target.site.name) in run.query_errors
            live_skip = kind.live and kind.needs_live(run.sources.options) and not run.settings.live and not broken
            for marker in run.item_marks(check, LIVE_SKIP if live_skip else None):
                self.add_marker(marker)
        self.user_properties.extend(run.properties(check))

    def setup(self) -> None:
        check, target = self.check, self.target
        if check.problem is not None:
            raise _bare(check.problem)
        if (unparsable := _run(self).query_errors.get((check.id, self.target.site.name))) is not None:
            raise _bare(unparsable)
        kind = self.kind
        assert kind is not None  # only a broken check has an unknown kind
        step = "reading for"
        try:
            data = None
            if kind.live:
                run = _run(self)
                run.prefetch_once(check.kind, _runnable(self.session))
                data = run.sources.read(kind.fetch, check, target)
            step = "judging"
            if check.when and not self._applies():
                pytest.skip(f"not applicable: when: {check.when}")
            verdict = kind.evaluate(check, target, data)
        except SloError as exc:
            raise _bare(exc) from None
        except Exception as exc:
            if self.config.getoption("fulltrace", False):
                raise
            owner = _run(self).registry.owner(check.kind)
            defect = KindDefect(
                f"kind {check.kind} raised {type(exc).__name__}: {exc} while {step} {check.id}",
                hint=f"a defect of {owner}, not a finding; run with --full-trace to see where",
            )
            raise _bare(defect) from None
        if not isinstance(verdict, Verdict):
            owner = _run(self).registry.owner(check.kind)
            raise _bare(
                KindDefect(
                    f"kind {check.kind} returned {verdict!r} for {check.id}, not a Verdict", hint=f"a defect of {owner}"
                )
            )
        self.verdict = verdict
        if verdict.skip:
            pytest.skip(verdict.skip)

    def runtest(self) -> None:
        verdict = self.verdict
        if verdict is not None and not verdict.ok:
            raise CheckFailed(verdict)

    def _applies(self) -> bool:
        from ..kinds._expr import config_context, evaluate

        assert self.check.when is not None
        return bool(evaluate(self.check.when, self.check, self.target, config_context(self.target)))

    def redact(self, text: str) -> str:
        try:
            return self.target.site.redactor.text(text)
        except SloError:
            return text

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, CheckFailed):
            return self.redact(format_verdict(excinfo.value.verdict, self.check.runbook))
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int, str]:
        where = "/".join(p for p in (self.target.site.name, self.target.app) if p)
        return self.path, 0, f"{where}: {self.check.id} [{self.check.severity}] {self.check.title}"


def format_verdict(verdict: Verdict, runbook: str | None = None) -> str:
    """A failed verdict as the terminal shows it: what is wrong, what to do or edit, the runbook."""
    lines = [verdict.message]
    if verdict.action:
        lines.append(f"do: {verdict.action}")
        if verdict.location:
            lines.append(f"declared at: {verdict.location}")
    elif verdict.location:
        lines.append(f"edit: {verdict.location}")
    if runbook:
        lines.append(f"runbook: {runbook}")
    return "\n".join(lines)


class _VerdictItem(pytest.Item):
    """An item whose only failure is a :class:`CheckFailed`: shown as :func:`format_verdict`."""

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, CheckFailed):
            return format_verdict(excinfo.value.verdict)
        return super().repr_failure(excinfo)


def _scope(run: RunContext, check: Check) -> str:
    if check.kind in run.registry:
        return run.registry[check.kind].scope_of(check)
    return "app" if check.apps else "site"  # a check naming no installed kind still errors where it would run


class AppNode(pytest.Collector):
    """The checks of one app at one site."""

    def __init__(self, *, site_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site_name = site_name

    def collect(self) -> Iterator[SloItem | CheckGroup]:
        run = _run(self)
        site = run.repo.site(self.site_name)
        target = Target(site, self.name, run.sources, run.baseline)
        selected = [c for c in run.catalog.declared if _scope(run, c) == "app" and c.applies_to(self.name)]
        for group, members in itertools.groupby(selected, key=lambda c: c.id.rpartition("::")[0]):
            if group:
                yield CheckGroup.from_parent(self, name=group, checks=list(members), target=target)
            else:
                for check in members:
                    yield SloItem.from_parent(self, name=check.id, check=check, target=target)


class CheckGroup(pytest.Collector):
    """Checks whose ids read ``<group>::<name>`` (an SLO's ``error-budget`` and ``burn-rate``):
    a node of their own, so ``...::api-server::api-availability::burn-rate`` selects one."""

    def __init__(self, *, checks: list[Check], target: Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks = checks
        self.target = target

    def collect(self) -> Iterator[SloItem]:
        for check in self.checks:
            yield SloItem.from_parent(self, name=check.id.rpartition("::")[2], check=check, target=self.target)


class SiteFile(pytest.File):
    """``sites/<site>/config.env``: the site-wide checks, then one node per app."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        run = _run(self)
        name = self.path.parent.name
        site = run.repo.site(name)
        target = Target(site, None, run.sources, run.baseline)
        for check in run.catalog.declared:
            if _scope(run, check) == "site":
                yield SloItem.from_parent(self, name=check.id, check=check, target=target)
        selected = run.settings.app
        for app in site.apps:
            if not selected or app in selected:
                yield AppNode.from_parent(self, name=app, site_name=name)


class CatalogItem(_VerdictItem):
    """``checks/<file>.yaml::catalog``: the file's checks are well-formed;
    ``::runbook-links``: every runbook path and #anchor it names exists."""

    def __init__(self, *, problems: list[str], location: Location | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems = problems
        self.where = location
        self.add_marker("slo")

    def runtest(self) -> None:
        if self.problems:
            what = "is not a valid check catalog" if self.name == "catalog" else "links runbooks that do not exist"
            raise CheckFailed(
                Verdict.failed(
                    f"{self.path.name} {what}:\n  " + "\n  ".join(self.problems),
                    {"problems": self.problems},
                    self.where,
                )
            )

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"{self.name} of {self.path.name}"


class CatalogFile(pytest.File):
    def collect(self) -> Iterator[CatalogItem]:
        run = _run(self)
        display = run.repo.rel(self.path)
        problems = run.catalog.problems.get(display, [])
        first = Location(problems[0].path or display, problems[0].line) if problems else None
        yield CatalogItem.from_parent(self, name="catalog", problems=[str(p) for p in problems], location=first)
        links: list[str] = []
        link_loc: Location | None = None
        for check in run.catalog.checks:
            if check.source != display:
                continue
            problem = runbook_problem(run.settings.root, check.runbook)
            if problem:
                links.append(f"{display}:{check.line}: check {check.id}: {problem}")
                link_loc = link_loc or Location(display, check.line)
            for action in check.actions:
                target = action.get("runbook")
                if target and runbook_problem(run.settings.root, target):
                    links.append(f"{display}:{check.line}: check {check.id}: action runbook {target} does not exist")
        yield CatalogItem.from_parent(self, name="runbook-links", problems=links, location=link_loc)


WAIVER_RUNBOOK = runbook("runbooks/catalog.md#waivers")


class WaiverItem(_VerdictItem):
    """``checks/waivers.yaml::<check>@<site>``: one waiver. A malformed entry errors at its
    line; an expired one fails (the day after ``until``); an active one passes."""

    def __init__(self, *, waiver: Waiver | None, problems: list[CatalogError], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.waiver = waiver
        self.problems = problems
        self.add_marker("slo")

    def meta(self) -> dict[str, Any]:
        w = self.waiver
        return {
            "check": "waiver",
            "title": f"waiver for {w.check} is current" if w else "waivers file is valid",
            "severity": "P3",
            "site": w.site if w else None,
            "app": w.app if w else None,
            "kind": "waiver",
            "runbook": WAIVER_RUNBOOK,
        }

    def setup(self) -> None:
        problems = self.problems or ([self.waiver.problem] if self.waiver and self.waiver.problem else [])
        if problems:
            first = problems[0]
            more = "".join(f"\n  {p}" for p in problems[1:])
            raise _bare(CatalogError(first.message + more, path=first.path, line=first.line, hint=first.hint))

    def runtest(self) -> None:
        w = self.waiver
        if w is None or not w.expired(_run(self).today):
            return
        at = f" at {w.site}" if w.site else ""
        message = f"{w.where}: waiver for {w.check}{at} expired on {w.until.isoformat()} (owner {w.owner})"
        message += (
            f"\n  reason was: {w.reason}\n  renew it with a new until: (at most "
            f"{_run(self).settings.waiver_max_days} days ahead), or fix the finding and remove it"
        )
        raise CheckFailed(Verdict.failed(message, w.as_dict(), Location(w.path, w.line)))

    def reportinfo(self) -> tuple[Any, int, str]:
        w = self.waiver
        what = f"waiver for {w.check} {w.scope} until {w.until.isoformat()}" if w else "waivers file"
        return self.path, (w.line - 1 if w else 0), what


class WaiverFile(pytest.File):
    """``checks/waivers.yaml``: one item per waiver, in file order."""

    def collect(self) -> Iterator[WaiverItem]:
        run = _run(self)
        if run.waiver_file_problems:
            yield WaiverItem.from_parent(self, name="waivers", waiver=None, problems=list(run.waiver_file_problems))
        seen: dict[str, int] = {}
        for waiver in run.waivers:
            # an SLO item's id holds "::", which would read as a node boundary in the node id
            name = f"{waiver.check.replace('::', '.')}@{waiver.site or 'every-site'}" + (
                f"/{waiver.app}" if waiver.app else ""
            )
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name += f"#{seen[name]}"
            yield WaiverItem.from_parent(self, name=name, waiver=waiver, problems=[])


def collector_for(run: RunContext, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """The collector of a file of the repository (a site's config.env, a catalog file, the
    waivers), None for any other; a run narrowed with ``--site``/``--app`` leaves out the
    sites it does not judge."""
    root = run.settings.root
    if file_path.name == "config.env" and file_path.parent.parent == root / "sites":
        if run.settings.site and file_path.parent.name not in run.settings.site:
            return None
        if run.settings.app and not set(run.settings.app) & set(run.repo.site(file_path.parent.name).apps):
            return None
        return SiteFile.from_parent(parent, path=file_path)
    if file_path == root / WAIVERS_FILE:
        return WaiverFile.from_parent(parent, path=file_path)
    if file_path.parent == root / "checks" and file_path.suffix in (".yaml", ".yml"):
        return CatalogFile.from_parent(parent, path=file_path)
    return None
