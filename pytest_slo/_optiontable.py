"""The table of options: each field of :class:`Settings` that is an option carries its flag,
help, type, metavar and environment variable in its metadata (:func:`option`); :data:`OPTIONS`
and :data:`PATH_OPTIONS` are read off it. What the values become and how they are checked
lives in :mod:`pytest_slo.settings`, which is the public face of both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .repo.layout import DEFAULT_VALUES_PATH

if TYPE_CHECKING:
    from .sources import LiveOptions

__all__ = ["OPTIONS", "PATH_OPTIONS", "PATH_TYPES", "TYPES", "Option", "Settings", "option"]

#: What an option's text becomes. ``path``: a file or folder, relative to where pytest was
#: started; ``pattern``: a path relative to the root, kept as text; ``count``: 0 or more.
TYPES = ("text", "list", "bool", "int", "count", "float", "path", "pattern", "duration", "due", "url", "time", "choice")
#: Types whose value is a path, written ``--opt=PATH`` (see :func:`refuse_spaced_paths`).
PATH_TYPES = ("path", "pattern")


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


def option(
    flag: str,
    help: str,
    type: str = "text",
    *,
    default: Any = None,
    metavar: str | None = None,
    env: str | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """A :class:`Settings` field that is an option (see :class:`Option`)."""
    assert type in TYPES, type
    meta = {"flag": flag, "help": help, "type": type, "metavar": metavar, "env": env, "choices": choices}
    value: Any = () if type == "list" else (False if type == "bool" else default)
    return field(default=value, metadata={"option": meta})


@dataclass(frozen=True)
class Settings:
    site: tuple[str, ...] = option(
        "--site",
        "Run the gate for these sites only (comma-separated). Default: every site under sites/.",
        "list",
        metavar="SITE",
    )
    app: tuple[str, ...] = option(
        "--app",
        "Run only the items of these apps (comma-separated), plus the site-wide config items they depend on.",
        "list",
        metavar="APP",
    )
    live: bool = option(
        "--live",
        "Run live checks against Prometheus, Redis and Kubernetes (read-only). Without it they are skipped.",
        "bool",
    )
    root: Path = option(
        "--slo-root",
        "The GitOps repository root holding sites/, releases/ and checks/. Default: pytest's rootdir (or the "
        "folder pytest was started in, when that one holds sites/).",
        "path",
        default=Path("."),
        metavar="DIR",
    )
    values_path: str = option(
        "--values-path",
        f"Where rendered values live, relative to the root, with {{site}} and {{app}}. Default: {DEFAULT_VALUES_PATH}.",
        "pattern",
        default=DEFAULT_VALUES_PATH,
        metavar="PATTERN",
    )
    render_command: str | None = option(
        "--render-command",
        "The repository's own renderer, which values-in-sync runs into a temporary folder and compares with the "
        "committed file: a command with {release}, {site}, {app}, {env_file} and {output} (e.g. 'helm template "
        "...' or 'python3 releases/{release}/render_values.py --env-file {env_file} --output {output}'), run "
        "from the root without a shell. Default: pytest-slo's own jinja2 renderer.",
        metavar="COMMAND",
    )
    disable_builtin: tuple[str, ...] = option(
        "--disable-builtin",
        "Built-in checks to switch off (comma-separated ids: config-parse, config-schema, values-in-sync, "
        "values-schema, values-stray, values-orphans). A check of the same id in checks/*.yaml replaces the "
        "built-in instead.",
        "list",
        metavar="ID",
    )
    findings: Path | None = option(
        "--findings", "Write the findings as JSON to PATH (written once, atomically).", "path", metavar="PATH"
    )
    findings_md: Path | None = option(
        "--findings-md",
        "Write a Markdown summary of the findings, grouped by severity, to PATH.",
        "path",
        metavar="PATH",
    )
    sarif: Path | None = option(
        "--sarif", "Write the findings as SARIF 2.1.0 (for code scanning) to PATH.", "path", metavar="PATH"
    )
    runbook_base_url: str | None = option(
        "--runbook-base-url",
        "Prefix that turns repo-relative runbook paths into links in SARIF and postmortems (e.g. "
        "https://git.example.com/org/gitops/blob/main/).",
        "url",
        metavar="URL",
    )
    postmortem_dir: Path | None = option(
        "--postmortem-dir", "Write a postmortem draft into DIR when a live P1/P2 check fails.", "path", metavar="DIR"
    )
    postmortem_window: str = option(
        "--postmortem-window",
        "How far back the postmortem timeline looks (Prometheus duration).",
        "duration",
        default="6h",
        metavar="DURATION",
    )
    postmortem_match_window: str = option(
        "--postmortem-match-window",
        "How long an open postmortem draft stays open to later live runs after its last update (Prometheus "
        "duration): a run whose failing checks share a fingerprint with it, or that finds its checks passing, "
        "updates it instead of writing another.",
        "duration",
        default="3d",
        metavar="DURATION",
    )
    postmortem_due: str = option(
        "--postmortem-due",
        "When a postmortem's action items are due after detection, by priority (Prometheus durations).",
        "due",
        default="P0=1d,P1=1d,P2=3d,P3=7d,P4=14d",
        metavar="P1=1d,P2=3d,...",
    )
    postmortem_template: Path | None = option(
        "--postmortem-template", "A jinja2 template replacing the built-in postmortem draft.", "path", metavar="FILE"
    )
    prometheus_url: str | None = option(
        "--prometheus-url",
        "Prometheus-compatible query API base URL; overrides the site's PROMETHEUS_URL. Auth comes from the "
        "environment only (SLO_PROMETHEUS_TOKEN, SLO_PROMETHEUS_USER/SLO_PROMETHEUS_PASSWORD, "
        "SLO_PROMETHEUS_HEADERS, SLO_PROMETHEUS_CA_BUNDLE).",
        "url",
        metavar="URL",
        env="SLO_PROMETHEUS_URL",
    )
    prometheus_concurrency: int = option(
        "--prometheus-concurrency", "How many live queries run at once.", "int", default=8, metavar="N"
    )
    live_timeout: float = option(
        "--live-timeout",
        "The most a live item waits for its facts, in seconds, for every source: all attempts, back-off and "
        "follow-up queries included. Then the item errors with a one-line reason.",
        "float",
        default=10.0,
        metavar="SECONDS",
    )
    live_retries: int = option(
        "--live-retries", "Retries of a live request answered with 429 or 5xx.", "count", default=2, metavar="N"
    )
    redis_url: str | None = option(
        "--redis-url",
        "Redis to check (redis://host:port); overrides the site's REDIS_ADDR. The password comes from "
        "SLO_REDIS_PASSWORD or the site's REDIS_PASSWORD.",
        "url",
        metavar="URL",
        env="SLO_REDIS_URL",
    )
    kube_context: str | None = option(
        "--kube-context",
        "kubeconfig context for kube checks (in-cluster config is used when running in a pod).",
        metavar="NAME",
    )
    kube_snapshot: Path | None = option(
        "--kube-snapshot",
        "Evaluate kube checks against `kubectl get pods,deployments,statefulsets,events -o json` output instead "
        "of a cluster.",
        "path",
        metavar="FILE",
    )
    kube_snapshot_time: datetime | None = option(
        "--kube-snapshot-time",
        "With --kube-snapshot: the RFC 3339 time the snapshot is judged at, e.g. when the dump was taken "
        "(2026-11-27T13:58:00Z); windows such as 'OOM-killed in the last 24h' end there. Default: the current "
        "time.",
        "time",
        metavar="TIME",
    )
    baseline: Path | None = option(
        "--baseline",
        "An earlier run's findings.json (from --findings=PATH): each finding is then new or unchanged, the "
        "baseline's fixed ones are listed as absent, and checks with a regression: criterion compare with its "
        "values.",
        "path",
        metavar="PATH",
    )
    fail_on: str = option(
        "--fail-on",
        "Which findings fail the run: all (default), or new (with --baseline: unchanged findings are reported "
        "and their items xfail with the reason).",
        "choice",
        default="all",
        metavar="all|new",
        choices=("all", "new"),
    )
    waiver_max_days: int = option(
        "--waiver-max-days",
        "The furthest ahead a waiver's until: may be, in days; a waiver further out is an error at its line.",
        "int",
        default=90,
        metavar="DAYS",
    )
    metrics_file: Path | None = option(
        "--metrics-file",
        "Write the run's outcome in the Prometheus text format to PATH (for node_exporter's textfile collector: "
        "a *.prom file in its directory).",
        "path",
        metavar="PATH",
    )
    pushgateway: str | None = option(
        "--pushgateway",
        "Push the same metrics to this Pushgateway, grouped by job=pytest-slo and site (or set "
        "SLO_PUSHGATEWAY_URL). Auth from the environment only (SLO_PUSHGATEWAY_TOKEN, or "
        "SLO_PUSHGATEWAY_USER/SLO_PUSHGATEWAY_PASSWORD). A failed push is an error line at the end of the run; "
        "the report files are still written.",
        "url",
        metavar="URL",
        env="SLO_PUSHGATEWAY_URL",
    )
    html: Path | None = option(
        "--html",
        "Write one self-contained HTML report to PATH: summary by severity, a row per finding with its runbook "
        "and the line to edit, filters, and charts of failing live checks.",
        "path",
        metavar="PATH",
    )
    slos_path: str = option(
        "--slos-path",
        "The folder of OpenSLO v1 documents (*.yaml), relative to the root. Default: slos.",
        "pattern",
        default="slos",
        metavar="PATH",
    )
    export_rules: Path | None = option(
        "--export-rules",
        "Write one Prometheus rule file per site into the folder PATH: SLI recording rules, multi-window "
        "burn-rate alerts of every SLO and the alerts of promql checks that declare alert: {for: ...}.",
        "path",
        metavar="PATH",
    )
    #: The environment variables live sources may use, read once (never shown: they hold secrets).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def live_options(self) -> LiveOptions:
        """What the live sources need of these settings."""
        from .sources import LiveOptions

        return LiveOptions(
            timeout=self.live_timeout,
            retries=self.live_retries,
            concurrency=self.prometheus_concurrency,
            prometheus_url=self.prometheus_url,
            redis_url=self.redis_url,
            kube_context=self.kube_context,
            kube_snapshot=self.kube_snapshot,
            kube_snapshot_time=self.kube_snapshot_time,
            environ=self.environ,
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
PATH_OPTIONS: frozenset[str] = frozenset(o.flag for o in OPTIONS if o.type in PATH_TYPES)
