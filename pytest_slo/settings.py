"""Command-line options, their ini twins, and the frozen :class:`Settings` they resolve to.

One table: every field of :class:`Settings` that is an option says, in its metadata, its
flag, help, type, metavar and the environment variable it falls back to (:func:`option`).
The option group, the ini names, the path options refused with a space and the conversions
all come from it. The environment is read here and nowhere else: :func:`resolve` keeps the
variables the live sources need (credentials, proxies, kubeconfig) in :attr:`Settings.environ`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

from .optionvalues import (
    due_offsets,
    pushgateway_problem,
    render_command_problem,
    rfc3339,
    seconds,
    slos_path_problem,
    template_problem,
    values_path_problem,
)
from .repo.site import DEFAULT_VALUES_PATH

if TYPE_CHECKING:
    from .sources import LiveOptions

__all__ = ["OPTIONS", "PATH_OPTIONS", "Option", "Settings", "add_options", "build", "from_ini", "refuse_spaced_paths", "resolve"]

#: What an option's text becomes. ``path``: a file or folder, relative to where pytest was
#: started; ``pattern``: a path relative to the root, kept as text; ``count``: 0 or more.
TYPES = ("text", "list", "bool", "int", "count", "float", "path", "pattern", "duration", "due", "url", "time", "choice")
#: Types whose value is a path, written ``--opt=PATH`` (see :func:`refuse_spaced_paths`).
_PATH_TYPES = ("path", "pattern")


@dataclass(frozen=True)
class Option:
    """One row of the table: a :class:`Settings` field's flag, ini twin and conversion."""

    dest: str
    flag: str
    help: str
    type: str
    default: Any
    metavar: str | None = None
    #: The environment variable read when neither the flag nor the ini file sets it.
    env: str | None = None
    choices: tuple[str, ...] = ()

    @property
    def ini(self) -> str:
        return "slo_" + self.dest

    @property
    def names(self) -> str:
        return f"{self.flag} / {self.ini}"


def option(flag: str, help: str, type: str = "text", *, default: Any = None, metavar: str | None = None,
           env: str | None = None, choices: tuple[str, ...] = ()) -> Any:
    """A :class:`Settings` field that is an option (see :class:`Option`)."""
    assert type in TYPES, type
    meta = {"flag": flag, "help": help, "type": type, "metavar": metavar, "env": env, "choices": choices}
    value: Any = () if type == "list" else (False if type == "bool" else default)
    return field(default=value, metadata={"option": meta})


@dataclass(frozen=True)
class Settings:
    site: tuple[str, ...] = option("--site", "Run the gate for these sites only (comma-separated). Default: every site under sites/.", "list", metavar="SITE")
    app: tuple[str, ...] = option("--app", "Run only the items of these apps (comma-separated), plus the site-wide config items they depend on.", "list", metavar="APP")
    live: bool = option("--live", "Run live checks against Prometheus, Redis and Kubernetes (read-only). Without it they are skipped.", "bool")
    root: Path = option("--slo-root", "The GitOps repository root holding sites/, releases/ and checks/. Default: pytest's rootdir (or the folder pytest was started in, when that one holds sites/).", "path", default=Path("."), metavar="DIR")
    values_path: str = option("--values-path", f"Where rendered values live, relative to the root, with {{site}} and {{app}}. Default: {DEFAULT_VALUES_PATH}.", "pattern", default=DEFAULT_VALUES_PATH, metavar="PATTERN")
    render_command: str | None = option("--render-command", "The repository's own renderer, which values-in-sync runs into a temporary folder and compares with the committed file: a command with {release}, {site}, {app}, {env_file} and {output} (e.g. 'helm template ...' or 'python3 releases/{release}/render_values.py --env-file {env_file} --output {output}'), run from the root without a shell. Default: pytest-slo's own jinja2 renderer.", metavar="COMMAND")
    disable_builtin: tuple[str, ...] = option("--disable-builtin", "Built-in checks to switch off (comma-separated ids: config-parse, config-schema, values-in-sync, values-schema, values-stray, values-orphans). A check of the same id in checks/*.yaml replaces the built-in instead.", "list", metavar="ID")
    findings: Path | None = option("--findings", "Write the findings as JSON to PATH (written once, atomically).", "path", metavar="PATH")
    findings_md: Path | None = option("--findings-md", "Write a Markdown summary of the findings, grouped by severity, to PATH.", "path", metavar="PATH")
    sarif: Path | None = option("--sarif", "Write the findings as SARIF 2.1.0 (for code scanning) to PATH.", "path", metavar="PATH")
    runbook_base_url: str | None = option("--runbook-base-url", "Prefix that turns repo-relative runbook paths into links in SARIF and postmortems (e.g. https://git.example.com/org/gitops/blob/main/).", "url", metavar="URL")
    postmortem_dir: Path | None = option("--postmortem-dir", "Write a postmortem draft into DIR when a live P1/P2 check fails.", "path", metavar="DIR")
    postmortem_window: str = option("--postmortem-window", "How far back the postmortem timeline looks (Prometheus duration).", "duration", default="6h", metavar="DURATION")
    postmortem_match_window: str = option("--postmortem-match-window", "How long an open postmortem draft stays open to later live runs after its last update (Prometheus duration): a run whose failing checks share a fingerprint with it, or that finds its checks passing, updates it instead of writing another.", "duration", default="3d", metavar="DURATION")
    postmortem_due: str = option("--postmortem-due", "When a postmortem's action items are due after detection, by priority (Prometheus durations).", "due", default="P0=1d,P1=1d,P2=3d,P3=7d,P4=14d", metavar="P1=1d,P2=3d,...")
    postmortem_template: Path | None = option("--postmortem-template", "A jinja2 template replacing the built-in postmortem draft.", "path", metavar="FILE")
    prometheus_url: str | None = option("--prometheus-url", "Prometheus-compatible query API base URL; overrides the site's PROMETHEUS_URL. Auth comes from the environment only (SLO_PROMETHEUS_TOKEN, SLO_PROMETHEUS_USER/SLO_PROMETHEUS_PASSWORD, SLO_PROMETHEUS_HEADERS, SLO_PROMETHEUS_CA_BUNDLE).", "url", metavar="URL", env="SLO_PROMETHEUS_URL")
    prometheus_concurrency: int = option("--prometheus-concurrency", "How many live queries run at once.", "int", default=8, metavar="N")
    live_timeout: float = option("--live-timeout", "The most a live item waits for its facts, in seconds, for every source: all attempts, back-off and follow-up queries included. Then the item errors with a one-line reason.", "float", default=10.0, metavar="SECONDS")
    live_retries: int = option("--live-retries", "Retries of a live request answered with 429 or 5xx.", "count", default=2, metavar="N")
    redis_url: str | None = option("--redis-url", "Redis to check (redis://host:port); overrides the site's REDIS_ADDR. The password comes from SLO_REDIS_PASSWORD or the site's REDIS_PASSWORD.", "url", metavar="URL", env="SLO_REDIS_URL")
    kube_context: str | None = option("--kube-context", "kubeconfig context for kube checks (in-cluster config is used when running in a pod).", metavar="NAME")
    kube_snapshot: Path | None = option("--kube-snapshot", "Evaluate kube checks against `kubectl get pods,deployments,statefulsets,events -o json` output instead of a cluster.", "path", metavar="FILE")
    kube_snapshot_time: datetime | None = option("--kube-snapshot-time", "With --kube-snapshot: the RFC 3339 time the snapshot is judged at, e.g. when the dump was taken (2026-11-27T13:58:00Z); windows such as 'OOM-killed in the last 24h' end there. Default: the current time.", "time", metavar="TIME")
    baseline: Path | None = option("--baseline", "An earlier run's findings.json (from --findings=PATH): each finding is then new or unchanged, the baseline's fixed ones are listed as absent, and checks with a regression: criterion compare with its values.", "path", metavar="PATH")
    fail_on: str = option("--fail-on", "Which findings fail the run: all (default), or new (with --baseline: unchanged findings are reported and their items xfail with the reason).", "choice", default="all", metavar="all|new", choices=("all", "new"))
    waiver_max_days: int = option("--waiver-max-days", "The furthest ahead a waiver's until: may be, in days; a waiver further out is an error at its line.", "int", default=90, metavar="DAYS")
    metrics_file: Path | None = option("--metrics-file", "Write the run's outcome in the Prometheus text format to PATH (for node_exporter's textfile collector: a *.prom file in its directory).", "path", metavar="PATH")
    pushgateway: str | None = option("--pushgateway", "Push the same metrics to this Pushgateway, grouped by job=pytest-slo and site (or set SLO_PUSHGATEWAY_URL). Auth from the environment only (SLO_PUSHGATEWAY_TOKEN, or SLO_PUSHGATEWAY_USER/SLO_PUSHGATEWAY_PASSWORD). A failed push is an error line at the end of the run; the report files are still written.", "url", metavar="URL", env="SLO_PUSHGATEWAY_URL")
    html: Path | None = option("--html", "Write one self-contained HTML report to PATH: summary by severity, a row per finding with its runbook and the line to edit, filters, and charts of failing live checks.", "path", metavar="PATH")
    slos_path: str = option("--slos-path", "The folder of OpenSLO v1 documents (*.yaml), relative to the root. Default: slos.", "pattern", default="slos", metavar="PATH")
    export_rules: Path | None = option("--export-rules", "Write one Prometheus rule file per site into the folder PATH: SLI recording rules, multi-window burn-rate alerts of every SLO and the alerts of promql checks that declare alert: {for: ...}.", "path", metavar="PATH")
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


def _options() -> Iterator[Option]:
    for f in fields(Settings):
        meta = f.metadata.get("option")
        if meta is not None:
            yield Option(dest=f.name, default=f.default, **meta)


OPTIONS: tuple[Option, ...] = tuple(_options())

#: Options whose value is a path (or a path pattern). pytest picks its rootdir and ini file
#: before any plugin's options are known, so in ``--findings /out/f.json`` it takes
#: ``/out/f.json`` for a test path, and once that path exists the rootdir moves and the
#: repository's ini settings (slo_site, slo_live, ...) are silently dropped. pytest has no
#: public way to pick the rootdir again, so these must be written ``--opt=PATH``.
PATH_OPTIONS: frozenset[str] = frozenset(o.flag for o in OPTIONS if o.type in _PATH_TYPES)


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


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("slo", "pytest-slo: config, values and live SLO checks of a GitOps repository")
    for opt in OPTIONS:
        twin = f" [ini: {opt.ini}" + (f"; env: {opt.env}" if opt.env else "") + "]"
        if opt.type == "bool":
            group.addoption(opt.flag, action="store_true", dest=opt.ini, default=None, help=opt.help + twin)
            # read as text and judged here: pytest's own bool says "invalid truth value" and not whose
            parser.addini(opt.ini, opt.help + " (true or false)", type="string", default="")
        else:
            group.addoption(opt.flag, dest=opt.ini, default=None, metavar=opt.metavar, help=opt.help + twin)
            default = "" if opt.default is None or opt.type == "path" else str(opt.default)
            parser.addini(opt.ini, opt.help, type="string", default=default)


# --------------------------------------------------------------------------- conversions


def _numeric(opt: Option, text: str, invoked: Path) -> int | float:
    try:
        value: int | float = float(text) if opt.type == "float" else int(text)
    except ValueError:
        raise pytest.UsageError(f"{opt.names}: {text!r} is not a number") from None
    if value < 0 or (value == 0 and opt.type != "count"):
        least = "0 or more" if opt.type == "count" else "greater than 0"
        raise pytest.UsageError(f"{opt.names}: must be {least}, got {text}")
    return value


def _path(opt: Option, text: str, invoked: Path) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else invoked / path


def _duration(opt: Option, text: str, invoked: Path) -> str:
    try:
        due_offsets(text) if opt.type == "due" else seconds(text)
    except ValueError as exc:
        raise pytest.UsageError(f"{opt.names}: {exc}") from None
    return text


def _choice(opt: Option, text: str, invoked: Path) -> str:
    if text not in opt.choices:
        raise pytest.UsageError(f"{opt.names}: {text!r} is not {' or '.join(opt.choices)}")
    return text


def _url(opt: Option, text: str, invoked: Path) -> str:
    if opt.dest == "pushgateway" and (problem := pushgateway_problem(text)):
        raise pytest.UsageError(f"{opt.names}: {problem}")
    return text


_CONVERT: dict[str, Callable[[Option, str, Path], Any]] = {
    "list": lambda opt, text, invoked: tuple(sorted({s.strip() for s in text.split(",") if s.strip()})),
    "int": _numeric,
    "count": _numeric,
    "float": _numeric,
    "path": _path,
    "duration": _duration,
    "due": _duration,
    "choice": _choice,
    "url": _url,
}


#: Where an option's text comes from: flag, else ini (a pytest run), or the CLI's own flags,
#: else the repository's ini file (``pytest-slo explain``). None when neither sets it.
Lookup = Callable[[Option], Any]


def resolve(config: pytest.Config) -> Settings:
    """Flag, else ini, else environment, else default: once per run."""

    def lookup(opt: Option) -> Any:
        raw = config.getoption(opt.ini)
        if raw is not None:
            return raw
        ini = config.getini(opt.ini)
        if opt.type == "bool":
            return _truth(opt, ini)
        return None if ini in ("", None) or (opt.default is not None and ini == str(opt.default)) else ini

    return build(lookup, Path(config.invocation_params.dir), lambda: _default_root(config))


def from_ini(root: Path, given: Mapping[str, Any] | None = None) -> Settings:
    """The settings a gate at ``root`` runs with, read from the repository's ini file (the
    one pytest would pick there), with ``given`` (option dest → value) on top: for the
    commands that run outside pytest. Raises ``pytest.UsageError`` as :func:`resolve` does."""
    from .repo.layout import ini_settings

    section = ini_settings(root)
    given = dict(given or {})

    def lookup(opt: Option) -> Any:
        if given.get(opt.dest) not in (None, ""):
            return given[opt.dest]
        raw = section.get(opt.ini)
        return _truth(opt, raw) if opt.type == "bool" else raw

    return build(lookup, Path.cwd(), lambda: root)


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0", "")


def _truth(opt: Option, raw: Any) -> bool | None:
    """An ini boolean: True, or None (the default, False) — anything else names the option."""
    text = str(raw if raw is not None else "").strip().lower()
    if text in _TRUE or raw is True:
        return True
    if text in _FALSE or raw is False:
        return None
    raise pytest.UsageError(f"{opt.ini}: {raw!r} is not true or false")


def build(lookup: Lookup, invoked: Path, default_root: Callable[[], Path]) -> Settings:
    """Each option's text from ``lookup``, else its environment variable, converted and
    checked; paths relative to ``invoked``."""
    environ = live_environ(os.environ)
    values: dict[str, Any] = {"environ": environ}
    given: set[str] = set()
    for opt in OPTIONS:
        raw = lookup(opt)
        if raw is None and opt.env:
            raw = environ.get(opt.env) or None
        if raw is None:
            continue
        given.add(opt.dest)
        if opt.type == "bool":
            values[opt.dest] = bool(raw)
            continue
        text = str(raw).strip()
        if text == "":
            continue
        convert = _CONVERT.get(opt.type)
        values[opt.dest] = convert(opt, text, invoked) if convert else text
    # one spelling of the root, whatever was typed: every path of the run is compared with it
    values["root"] = Path(values["root"] if "root" in values else default_root()).resolve()
    for check in _CHECKS:
        check(values, given)
    return Settings(**values)


# --------------------------------------------------------------------------- checks across options


def _check_template(values: dict[str, Any], given: set[str]) -> None:
    if "postmortem_template" in values and (problem := template_problem(values["postmortem_template"])):
        raise pytest.UsageError(f"--postmortem-template / slo_postmortem_template: {problem}")


def _check_snapshot_time(values: dict[str, Any], given: set[str]) -> None:
    if "kube_snapshot_time" in values:
        name = "--kube-snapshot-time / slo_kube_snapshot_time"
        try:
            values["kube_snapshot_time"] = rfc3339(values["kube_snapshot_time"])
        except ValueError as exc:
            raise pytest.UsageError(f"{name}: {exc}") from None
        if "kube_snapshot" not in values:
            raise pytest.UsageError(f"{name}: only applies with --kube-snapshot=FILE (a cluster is judged at the current time)")


def _check_fail_on(values: dict[str, Any], given: set[str]) -> None:
    if values.get("fail_on") == "new" and "baseline" not in values:
        raise pytest.UsageError("--fail-on=new needs --baseline=PATH (last run's findings.json): without one every finding is new")


def _check_slos_path(values: dict[str, Any], given: set[str]) -> None:
    if problem := slos_path_problem(values["root"], values.get("slos_path", "slos"), "slos_path" in given):
        raise pytest.UsageError(f"--slos-path / slo_slos_path: {problem}")


def _check_values_path(values: dict[str, Any], given: set[str]) -> None:
    if problem := values_path_problem(values.get("values_path", DEFAULT_VALUES_PATH)):
        raise pytest.UsageError(f"--values-path / slo_values_path: {problem}")


def _check_render_command(values: dict[str, Any], given: set[str]) -> None:
    if "render_command" in values and (problem := render_command_problem(values["render_command"])):
        raise pytest.UsageError(f"--render-command / slo_render_command: {problem}")


_CHECKS: tuple[Callable[[dict[str, Any], set[str]], None], ...] = (
    _check_template, _check_snapshot_time, _check_fail_on, _check_slos_path, _check_values_path, _check_render_command,
)


def _default_root(config: pytest.Config) -> Path:
    """pytest's rootdir, unless it holds no sites/ and the invocation folder does.

    A test path outside the repository (``pytest /elsewhere/test_x.py``, no ini file) moves
    pytest's rootdir away from it; the folder pytest was started in is then the repository.
    Path options written with a space are refused earlier (:func:`refuse_spaced_paths`).
    """
    rootpath = Path(config.rootpath)
    invoked = Path(config.invocation_params.dir)
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        # ``pytest path/to/repo`` (or a file in it) from a folder with an ini file of its own:
        # the repository is the nearest folder with sites/ at or above what is collected
        for arg in config.args:
            path = (invoked / arg.split("::")[0]).resolve()
            for folder in (path, *path.parents):
                if (folder / "sites").is_dir():
                    return folder
    if not (rootpath / "sites").is_dir() and (invoked / "sites").is_dir():
        return invoked
    return rootpath


#: The variables a live source may use: ours, the proxy settings, and where the cluster is.
_LIVE_ENV = re.compile(r"^(SLO_\w+|(?i:https?_proxy|no_proxy)|KUBECONFIG|KUBERNETES_SERVICE_(HOST|PORT))$")


def live_environ(environ: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only copy of the variables in ``environ`` that live sources may use."""
    return MappingProxyType({k: v for k, v in environ.items() if _LIVE_ENV.match(k)})
