"""Command-line options, their ini twins, and the frozen :class:`Settings` they resolve to.

The environment is read here and nowhere else: :func:`resolve` keeps the variables the live
sources need (credentials, proxies, kubeconfig) in :attr:`Settings.environ`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

from .repo.site import DEFAULT_VALUES_PATH

if TYPE_CHECKING:
    from .sources import LiveOptions

__all__ = ["OPTIONS", "PATH_OPTIONS", "Option", "Settings", "add_options", "due_offsets", "refuse_spaced_paths", "resolve"]


@dataclass(frozen=True)
class Option:
    flag: str
    dest: str
    help: str
    kind: str = "string"  # string | bool | int | float
    default: Any = None
    metavar: str | None = None

    @property
    def ini(self) -> str:
        return "slo_" + self.dest


OPTIONS: tuple[Option, ...] = (
    Option("--site", "site", "Run the gate for these sites only (comma-separated). Default: every site under sites/.", metavar="SITE"),
    Option("--app", "app", "Run only the items of these apps (comma-separated), plus the site-wide config items they depend on.", metavar="APP"),
    Option("--live", "live", "Run live checks against Prometheus, Redis and Kubernetes (read-only). Without it they are skipped.", "bool", False),
    Option("--slo-root", "root", "The GitOps repository root holding sites/, releases/ and checks/. Default: pytest's rootdir.", metavar="DIR"),
    Option("--values-path", "values_path", f"Where rendered values live, relative to the root, with {{site}} and {{app}}. Default: {DEFAULT_VALUES_PATH}.", default=DEFAULT_VALUES_PATH, metavar="PATTERN"),
    Option("--findings", "findings", "Write the findings as JSON to PATH (written once, atomically).", metavar="PATH"),
    Option("--findings-md", "findings_md", "Write a Markdown summary of the findings, grouped by severity, to PATH.", metavar="PATH"),
    Option("--sarif", "sarif", "Write the findings as SARIF 2.1.0 (for code scanning) to PATH.", metavar="PATH"),
    Option("--runbook-base-url", "runbook_base_url", "Prefix that turns repo-relative runbook paths into links in SARIF and postmortems (e.g. https://git.example.com/org/gitops/blob/main/).", metavar="URL"),
    Option("--postmortem-dir", "postmortem_dir", "Write a postmortem draft into DIR when a live P1/P2 check fails.", metavar="DIR"),
    Option("--postmortem-window", "postmortem_window", "How far back the postmortem timeline looks (Prometheus duration).", default="6h", metavar="DURATION"),
    Option("--postmortem-template", "postmortem_template", "A jinja2 template replacing the built-in postmortem draft.", metavar="FILE"),
    Option("--postmortem-match-window", "postmortem_match_window", "How long an open postmortem draft stays open to later live runs after its last update (Prometheus duration): a run whose failing checks share a fingerprint with it, or that finds its checks passing, updates it instead of writing another.", default="3d", metavar="DURATION"),
    Option("--postmortem-due", "postmortem_due", "When a postmortem's action items are due after detection, by priority (Prometheus durations).", default="P0=1d,P1=1d,P2=3d,P3=7d,P4=14d", metavar="P1=1d,P2=3d,..."),
    Option("--prometheus-url", "prometheus_url", "Prometheus-compatible query API base URL; overrides the site's PROMETHEUS_URL. Auth comes from the environment only (SLO_PROMETHEUS_TOKEN, SLO_PROMETHEUS_USER/SLO_PROMETHEUS_PASSWORD, SLO_PROMETHEUS_HEADERS, SLO_PROMETHEUS_CA_BUNDLE).", metavar="URL"),
    Option("--prometheus-concurrency", "prometheus_concurrency", "How many live queries run at once.", "int", 8, metavar="N"),
    Option("--live-timeout", "live_timeout", "The most a live item waits for its facts, in seconds, for every source: all attempts, back-off and follow-up queries included. Then the item errors with a one-line reason.", "float", 10.0, metavar="SECONDS"),
    Option("--live-retries", "live_retries", "Retries of a live request answered with 429 or 5xx.", "int", 2, metavar="N"),
    Option("--redis-url", "redis_url", "Redis to check (redis://host:port); overrides the site's REDIS_ADDR. The password comes from SLO_REDIS_PASSWORD or the site's REDIS_PASSWORD.", metavar="URL"),
    Option("--kube-context", "kube_context", "kubeconfig context for kube checks (in-cluster config is used when running in a pod).", metavar="NAME"),
    Option("--kube-snapshot", "kube_snapshot", "Evaluate kube checks against `kubectl get pods,deployments,statefulsets,events -o json` output instead of a cluster.", metavar="FILE"),
    Option("--kube-snapshot-time", "kube_snapshot_time", "With --kube-snapshot: the RFC 3339 time the snapshot is judged at, e.g. when the dump was taken (2026-11-27T13:58:00Z); windows such as 'OOM-killed in the last 24h' end there. Default: the current time.", metavar="TIME"),
    Option("--baseline", "baseline", "An earlier run's findings.json (from --findings=PATH): each finding is then new or unchanged, the baseline's fixed ones are listed as absent, and checks with a regression: criterion compare with its values.", metavar="PATH"),
    Option("--fail-on", "fail_on", "Which findings fail the run: all (default), or new (with --baseline: unchanged findings are reported and their items xfail with the reason).", default="all", metavar="all|new"),
    Option("--waiver-max-days", "waiver_max_days", "The furthest ahead a waiver's until: may be, in days; a waiver further out is an error at its line.", "int", 90, metavar="DAYS"),
    Option("--metrics-file", "metrics_file", "Write the run's outcome in the Prometheus text format to PATH (for node_exporter's textfile collector: a *.prom file in its directory).", metavar="PATH"),
    Option("--pushgateway", "pushgateway", "Push the same metrics to this Pushgateway, grouped by job=pytest-slo and site (or set SLO_PUSHGATEWAY_URL). Auth from the environment only (SLO_PUSHGATEWAY_TOKEN, or SLO_PUSHGATEWAY_USER/SLO_PUSHGATEWAY_PASSWORD). A failed push is an error line at the end of the run; the report files are still written.", metavar="URL"),
    Option("--html", "html", "Write one self-contained HTML report to PATH: summary by severity, a row per finding with its runbook and the line to edit, filters, and charts of failing live checks.", metavar="PATH"),
    Option("--slos-path", "slos_path", "The folder of OpenSLO v1 documents (*.yaml), relative to the root. Default: slos.", default="slos", metavar="PATH"),
    Option("--export-rules", "export_rules", "Write one Prometheus rule file per site into the folder PATH: SLI recording rules, multi-window burn-rate alerts of every SLO and the alerts of promql checks that declare alert: {for: ...}.", metavar="PATH"),
)


#: Options whose value is a path (or a path pattern). pytest picks its rootdir and ini file
#: before any plugin's options are known, so in ``--findings /out/f.json`` it takes
#: ``/out/f.json`` for a test path, and once that path exists the rootdir moves and the
#: repository's ini settings (slo_site, slo_live, ...) are silently dropped. pytest has no
#: public way to pick the rootdir again, so these must be written ``--opt=PATH``.
PATH_OPTIONS: frozenset[str] = frozenset(
    {"--slo-root", "--values-path", "--findings", "--findings-md", "--sarif", "--postmortem-dir", "--postmortem-template", "--kube-snapshot", "--baseline",
     "--metrics-file", "--html", "--slos-path", "--export-rules"}
)


def refuse_spaced_paths(args: Sequence[str]) -> None:
    """Raise a usage error naming every path option written ``--opt PATH`` in ``args``."""
    problems = []
    for flag, value in pairwise(args):
        if flag == "--":
            break
        if flag in PATH_OPTIONS and not value.startswith("-"):
            problems.append(f"{flag} {value}: write {flag}={value}")
    if problems:
        raise pytest.UsageError(
            "\n".join(problems)
            + "\npytest reads a path after a space as a test path while it picks its rootdir and ini file,"
            " before pytest-slo's options are known, so the repository's ini settings"
            " (slo_site, slo_live, ...) could be dropped"
        )


@dataclass(frozen=True)
class Settings:
    site: tuple[str, ...] = ()
    app: tuple[str, ...] = ()
    live: bool = False
    root: Path = Path(".")
    values_path: str = DEFAULT_VALUES_PATH
    findings: Path | None = None
    findings_md: Path | None = None
    sarif: Path | None = None
    runbook_base_url: str | None = None
    postmortem_dir: Path | None = None
    postmortem_window: str = "6h"
    postmortem_template: Path | None = None
    postmortem_match_window: str = "3d"
    postmortem_due: str = "P0=1d,P1=1d,P2=3d,P3=7d,P4=14d"
    prometheus_url: str | None = None
    prometheus_concurrency: int = 8
    live_timeout: float = 10.0
    live_retries: int = 2
    redis_url: str | None = None
    kube_context: str | None = None
    kube_snapshot: Path | None = None
    kube_snapshot_time: datetime | None = None
    baseline: Path | None = None
    fail_on: str = "all"
    waiver_max_days: int = 90
    metrics_file: Path | None = None
    pushgateway: str | None = None
    html: Path | None = None
    slos_path: str = "slos"
    export_rules: Path | None = None
    #: The environment variables live sources may use, read once (never shown: they hold secrets).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def live_options(self) -> LiveOptions:
        """What the live sources need of these settings."""
        from .sources import LiveOptions

        return LiveOptions(
            timeout=self.live_timeout, retries=self.live_retries, concurrency=self.prometheus_concurrency,
            prometheus_url=self.prometheus_url, redis_url=self.redis_url, kube_context=self.kube_context,
            kube_snapshot=self.kube_snapshot, kube_snapshot_time=self.kube_snapshot_time, environ=self.environ,
        )

    @property
    def selective(self) -> bool:
        """True when the run names sites or apps: then only the gate is collected."""
        return bool(self.site or self.app)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("slo", "pytest-slo: config, values and live SLO checks of a GitOps repository")
    for opt in OPTIONS:
        if opt.kind == "bool":
            group.addoption(opt.flag, action="store_true", dest="slo_" + opt.dest, default=None, help=opt.help + f" [ini: {opt.ini}]")
            parser.addini(opt.ini, opt.help, type="bool", default=opt.default)
        else:
            group.addoption(opt.flag, dest="slo_" + opt.dest, default=None, metavar=opt.metavar, help=opt.help + f" [ini: {opt.ini}]")
            parser.addini(opt.ini, opt.help, type="string", default="" if opt.default is None else str(opt.default))


def _convert(opt: Option, raw: Any) -> Any:
    if opt.kind == "bool":
        return bool(raw)
    text = str(raw).strip()
    if opt.kind in ("int", "float"):
        try:
            value = int(text) if opt.kind == "int" else float(text)
        except ValueError:
            raise pytest.UsageError(f"{opt.flag} / {opt.ini}: {text!r} is not a number") from None
        if value < 0 or (value == 0 and opt.dest not in _ZERO_ALLOWED):
            least = "0 or more" if opt.dest in _ZERO_ALLOWED else "greater than 0"
            raise pytest.UsageError(f"{opt.flag} / {opt.ini}: must be {least}, got {text}")
        return value
    return text


_ZERO_ALLOWED = {"live_retries"}  # no retry at all is a choice; no time or no concurrency is not


def _duration(text: str) -> float:
    from .expr import duration_seconds

    seconds = duration_seconds(text)  # its QuantityError is a ValueError saying why
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a duration greater than 0")
    return seconds


def due_offsets(text: str) -> dict[str, float]:
    """``P1=1d,P2=3d`` → seconds after detection by priority (P0..P4)."""
    offsets: dict[str, float] = {}
    for part in text.split(","):
        priority, sep, duration = (s.strip() for s in part.partition("="))
        if not sep or not re.fullmatch(r"P[0-4]", priority):
            raise ValueError(f"{part.strip()!r} is not PRIORITY=DURATION such as P1=1d (priorities P0 to P4)")
        offsets[priority] = _duration(duration)
    return offsets


def _template_problem(path: Path) -> str | None:
    """Why a postmortem template cannot be used, found before the run instead of on the night."""
    import jinja2

    from .expr import SloEnvironment

    try:
        SloEnvironment().parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    except UnicodeDecodeError:
        return f"{path} is not UTF-8 text"
    except jinja2.TemplateSyntaxError as exc:
        return f"{path}:{exc.lineno}: template syntax error: {exc.message}"
    return None


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)")


def _snapshot_time(text: str, with_snapshot: bool) -> datetime:
    """``--kube-snapshot-time``: an RFC 3339 time (with its offset), only with a snapshot."""
    name = "--kube-snapshot-time / slo_kube_snapshot_time"
    expected = "expected an RFC 3339 time with its offset, such as 2026-11-27T13:58:00Z or 2026-11-27T14:58:00+01:00"
    parsed = None
    if match := _RFC3339.fullmatch(text):
        date, clock, fraction, offset = match.groups()
        micro = (fraction or "0")[:6].ljust(6, "0")  # Python 3.10 takes 6 digits only
        try:
            parsed = datetime.fromisoformat(f"{date}T{clock}.{micro}{'+00:00' if offset in 'Zz' else offset}")
        except ValueError:
            parsed = None
    if parsed is None:
        raise pytest.UsageError(f"{name}: {text!r}: {expected}")
    if not with_snapshot:
        raise pytest.UsageError(f"{name}: only applies with --kube-snapshot=FILE (a cluster is judged at the current time)")
    return parsed.astimezone(timezone.utc)


def _default_root(config: pytest.Config) -> Path:
    """pytest's rootdir, unless it holds no sites/ and the invocation folder does.

    A test path outside the repository (``pytest /elsewhere/test_x.py``, no ini file) moves
    pytest's rootdir away from it; the folder pytest was started in is then the repository.
    Path options written with a space are refused earlier (:func:`refuse_spaced_paths`).
    """
    rootpath = Path(config.rootpath)
    invoked = Path(config.invocation_params.dir)
    if not (rootpath / "sites").is_dir() and (invoked / "sites").is_dir():
        return invoked
    return rootpath


def resolve(config: pytest.Config) -> Settings:
    """Flag, else ini, else default: once per run."""
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        raw = config.getoption("slo_" + opt.dest)
        if raw is None:
            raw = config.getini(opt.ini)
            if raw in ("", None) and opt.kind != "bool":
                raw = opt.default
        if raw is None or raw == "":
            continue
        values[opt.dest] = _convert(opt, raw)
    for name in ("site", "app"):
        if name in values:
            values[name] = tuple(sorted({s.strip() for s in values[name].split(",") if s.strip()}))
    if "root" in values:
        root = Path(values.pop("root"))
        if not root.is_absolute():
            root = Path(config.invocation_params.dir) / root
    else:
        root = _default_root(config)
    values["root"] = root
    for name in ("findings", "findings_md", "sarif", "postmortem_dir", "postmortem_template", "kube_snapshot", "baseline", "metrics_file", "html", "export_rules"):
        if name in values:
            path = Path(values[name]).expanduser()
            values[name] = path if path.is_absolute() else Path(config.invocation_params.dir) / path
    environ = live_environ(os.environ)
    if "prometheus_url" not in values and environ.get("SLO_PROMETHEUS_URL"):
        values["prometheus_url"] = environ["SLO_PROMETHEUS_URL"]
    if "pushgateway" not in values and environ.get("SLO_PUSHGATEWAY_URL"):
        values["pushgateway"] = environ["SLO_PUSHGATEWAY_URL"]
    if "redis_url" not in values and environ.get("SLO_REDIS_URL"):
        values["redis_url"] = environ["SLO_REDIS_URL"]
    values["environ"] = environ
    if "postmortem_window" in values:
        from .expr import duration_seconds
        from .units import QuantityError

        try:
            duration_seconds(values["postmortem_window"])
        except QuantityError as exc:
            raise pytest.UsageError(f"--postmortem-window / slo_postmortem_window: {exc}") from None
    for name, flag in (("postmortem_match_window", "--postmortem-match-window"), ("postmortem_due", "--postmortem-due")):
        if name in values:
            try:
                due_offsets(values[name]) if name == "postmortem_due" else _duration(values[name])
            except ValueError as exc:
                raise pytest.UsageError(f"{flag} / slo_{name}: {exc}") from None
    if "postmortem_template" in values and (problem := _template_problem(values["postmortem_template"])):
        raise pytest.UsageError(f"--postmortem-template / slo_postmortem_template: {problem}")
    if "kube_snapshot_time" in values:
        values["kube_snapshot_time"] = _snapshot_time(values["kube_snapshot_time"], "kube_snapshot" in values)
    if values.get("fail_on", "all") not in ("all", "new"):
        raise pytest.UsageError(f"--fail-on / slo_fail_on: {values['fail_on']!r} is not all or new")
    if values.get("fail_on") == "new" and "baseline" not in values:
        raise pytest.UsageError("--fail-on=new needs --baseline=PATH (last run's findings.json): without one every finding is new")
    if "pushgateway" in values:
        values["pushgateway"] = _pushgateway_url(values["pushgateway"])
    if problem := _slos_path_problem(config, root, values.get("slos_path", "slos")):
        raise pytest.UsageError(f"--slos-path / slo_slos_path: {problem}")
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})


def _slos_path_problem(config: pytest.Config, root: Path, slos_path: str) -> str | None:
    """Why the SLO folder cannot be read: one named on purpose must exist, or every SLO of the
    repository would be dropped without a word; the default ``slos`` may be absent (no SLOs)."""
    folder = root / slos_path
    if folder.is_dir():
        return None
    given = config.getoption("slo_slos_path") is not None or config.getini("slo_slos_path") not in ("", "slos")
    what = "name the folder of the OpenSLO documents (*.yaml), relative to the root"
    if folder.exists():
        return f"{slos_path} is a file, not a folder (root {root}): {what}"
    if given:
        return f"no folder {slos_path} under the root {root}: {what}"
    return None


def _pushgateway_url(url: str) -> str:
    """An http(s) URL without credentials (those come from the environment, never a flag)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    name = "--pushgateway / slo_pushgateway"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise pytest.UsageError(f"{name}: {url!r} is not an http(s) URL such as http://pushgateway.monitoring:9091")
    if parts.username or parts.password:
        raise pytest.UsageError(f"{name}: the URL carries credentials; set SLO_PUSHGATEWAY_USER and SLO_PUSHGATEWAY_PASSWORD"
                                " (or SLO_PUSHGATEWAY_TOKEN) in the environment instead")
    return url


#: The variables a live source may use: ours, the proxy settings, and where the cluster is.
_LIVE_ENV = re.compile(r"^(SLO_\w+|(?i:https?_proxy|no_proxy)|KUBECONFIG|KUBERNETES_SERVICE_(HOST|PORT))$")


def live_environ(environ: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only copy of the variables in ``environ`` that live sources may use."""
    return MappingProxyType({k: v for k, v in environ.items() if _LIVE_ENV.match(k)})
