"""Per-run state: settings, the repository, the kinds and the catalog, built once."""

from __future__ import annotations

import datetime as _dt
import functools
import gc
from typing import TYPE_CHECKING, Any

import pytest

from ..catalog.known import Known
from ..catalog.model import Catalog, load_catalog
from ..catalog.openslo import SloCatalog, load_slos, with_slos
from ..errors import CatalogError
from ..kinds.base import KindRegistry, Target
from ..repo.site import Repo
from ..settings import Settings
from ..sources import Sources

if TYPE_CHECKING:
    from ..catalog.waivers import Waiver
    from ..findings.baseline import Baseline

__all__ = ["RUN_KEY", "RunContext"]

#: From this many collected items on, the collected tree is moved out of the garbage
#: collector's sight for the rest of the session (see :meth:`RunContext.freeze_collected`).
FREEZE_MIN_ITEMS = 1000


class RunContext:
    def __init__(self, config: pytest.Config | None, settings: Settings, registry: KindRegistry) -> None:
        self.config = config
        self.settings = settings
        self.registry = registry
        self.repo = Repo(settings.root, settings.values_path, settings.render_command)
        #: The live sources, created on first use and shared by every item of the run.
        self.sources = Sources(settings.live_options())
        self._prefetched: set[str] = set()
        self._marks: dict[Any, tuple[pytest.MarkDecorator, ...]] = {}
        self._properties: dict[str, tuple[tuple[str, str], ...]] = {}
        self._frozen = False
        #: The day waivers are judged on (UTC), fixed when the run starts.
        self.today = _dt.datetime.now(_dt.timezone.utc).date()
        #: ``--baseline``: read when the run is configured (a bad one is a usage error then).
        self.baseline: Baseline | None = None
        #: A check's query that does not parse at a site: its items there error with this.
        self.query_errors: dict[tuple[str, str], CatalogError] = {}

    def load_baseline(self) -> None:
        """Read ``--baseline``; raises :class:`~pytest_slo.findings.baseline.BaselineError`."""
        if self.settings.baseline is None:
            return
        from ..findings.baseline import load_baseline

        sites = self.settings.site or tuple(self.repo.site_names)
        self.baseline = load_baseline(self.settings.baseline, repo=self.repo.identity, sites=sites)

    @functools.cached_property
    def waivers(self) -> list[Waiver]:
        """``checks/waivers.yaml``'s entries, each validated (a bad entry carries its problem)."""
        return self._waivers[0]

    @functools.cached_property
    def _waivers(self) -> tuple[list[Waiver], list[Any]]:
        from ..catalog.waivers import load_waivers

        checks = [c.id for c in (*self.catalog.checks, *self.catalog.broken)]
        return load_waivers(
            self.settings.root,
            checks=checks,
            sites=self.repo.site_names,
            apps=self.repo.app_names,
            today=self.today,
            max_days=self.settings.waiver_max_days,
        )

    @property
    def waiver_file_problems(self) -> list[Any]:
        """Problems of checks/waivers.yaml as a whole (not of one entry)."""
        return self._waivers[1]

    @functools.cached_property
    def known(self) -> Known:
        """The apps and config keys the repository has: a name outside them in the catalog is a typo."""
        return Known(
            apps=frozenset(self.repo.app_names),
            keys=frozenset(self.repo.config_keys),
            key_patterns=self.repo.config_key_patterns,
            complete=bool(self.repo.site_names or self.repo.release_names),
        )

    @functools.cached_property
    def slos(self) -> SloCatalog:
        """The OpenSLO documents of ``slos/`` (``--slos-path``)."""
        return load_slos(self.settings.root, self.settings.slos_path, self.repo.app_names, self.known)

    @functools.cached_property
    def catalog(self) -> Catalog:
        """The built-in checks, those of ``checks/*.yaml`` and the items of every SLO; a PromQL
        query that does not parse at a site of the run is a problem of its file (see
        :mod:`.queries`) and an error of the check's items there (:attr:`query_errors`)."""
        catalog = with_slos(
            load_catalog(
                self.settings.root, self.registry.schemas, known=self.known, disabled=self.settings.disable_builtin
            ),
            self.slos,
        )
        self.query_errors = self._parse_queries(catalog)
        return catalog

    def _parse_queries(self, catalog: Catalog) -> dict[tuple[str, str], CatalogError]:
        from .queries import query_problems, sends_queries

        checks = [c for c in catalog.checks if c.kind in self.registry and sends_queries(self.registry[c.kind])]
        pairs = []
        for name in self.settings.site or self.repo.site_names:
            site = self.repo.site(name)
            apps = [a for a in site.apps if not self.settings.app or a in self.settings.app]
            pairs += [(c, Target(site, app, self.sources)) for c in checks for app in apps if c.applies_to(app)]
        errors: dict[tuple[str, str], CatalogError] = {}
        failing: dict[str, list[str]] = {}
        for check, target, problem in query_problems(self.registry, pairs):
            if (check.id, target.site.name) not in errors:
                errors[check.id, target.site.name] = problem
                failing.setdefault(check.id, []).append(target.site.name)
        for (check_id, site_name), problem in errors.items():
            sites = failing[check_id]
            if site_name != sites[0]:
                continue  # the file lists it once, at its first site, naming the others
            more = f" (also at {', '.join(sites[1:])})" if len(sites) > 1 else ""
            catalog.problems.setdefault(str(problem.path), []).append(
                CatalogError(problem.message + more, path=problem.path, line=problem.line, hint=problem.hint)
            )
        return errors

    def prefetch_once(self, kind_name: str, items: list[Any]) -> None:
        """Let a live kind batch every read of this session's items, before the first runs."""
        if kind_name in self._prefetched:
            return
        self._prefetched.add(kind_name)
        kind = self.registry[kind_name]
        pairs = [(i.check, i.target) for i in items if getattr(i, "check", None) and i.check.kind == kind_name]
        kind.prefetch(self.sources, pairs)

    def item_marks(self, check: Any, skip_reason: str | None) -> tuple[pytest.MarkDecorator, ...]:
        """The markers of a check's items, made once per (check, skip reason) for the run:
        ``getattr(pytest.mark, name)`` re-validates the name and builds a new Mark on every
        call, a measurable cost across 10,000+ items."""
        key = (check.id, skip_reason)
        marks = self._marks.get(key)
        if marks is None:
            kind = self.registry[check.kind]
            skip = [pytest.mark.skip(reason=skip_reason)] if skip_reason is not None else []
            names = ["slo", kind.name, *(["live"] if kind.live else [])]
            marks = self._marks[key] = (
                *(getattr(pytest.mark, n) for n in names),
                *skip,
                *(getattr(pytest.mark, m) for m in check.markers),
            )
        return marks

    def properties(self, check: Any) -> tuple[tuple[str, str], ...]:
        """The junit ``user_properties`` of a check's items, built once per check."""
        props = self._properties.get(check.id)
        if props is None:
            props = self._properties[check.id] = (
                ("slo_check", check.id),
                ("slo_severity", check.severity),
                ("slo_runbook", check.runbook),
                ("slo_kind", check.kind),
            )
        return props

    def freeze_collected(self, items: list[Any]) -> None:
        """``gc.freeze()`` once collection is done, in large runs.

        Every item, node and parsed config lives until the session ends, yet each full
        collection of the cyclic garbage collector walks all of them again: in a 100-site
        gate that was ~1.5 s of ~10 s (pytest alone: 0.8 s). Frozen objects are skipped by
        collections; :meth:`thaw` unfreezes them when the run is torn down, so nothing outlives it.
        """
        if len(items) >= FREEZE_MIN_ITEMS and gc.isenabled() and not self._frozen:
            gc.freeze()
            self._frozen = True

    def thaw(self) -> None:
        """Undo :meth:`freeze_collected`: the last thing of the run (pytest's own end-of-run
        collections, which look for unraisable exceptions, would walk the whole tree again)."""
        if self._frozen:
            gc.unfreeze()
            self._frozen = False

    def close(self) -> None:
        self.sources.close()


RUN_KEY = pytest.StashKey[RunContext]()
