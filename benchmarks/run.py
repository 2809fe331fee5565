#!/usr/bin/env python3
"""pytest-slo's benchmark harness (``make bench``): side-by-side ratios, written to RESULTS.md.

    python benchmarks/run.py            # the full run: 100 sites x 10 apps, 5 repeats
    python benchmarks/run.py --quick    # a smoke run: small repos, 2 repeats

Targets (median ratios on a 2-core machine):
  gate       full offline gate, 100 sites x 10 apps / bare pytest, as many trivial items   <= 1.1
  startup    --site production --app redis-cluster on the reference repo / pytest --co -q
             in an empty folder                                                            <= 1.8
             ... / pytest --co -q -p no:slo (pytest without this plugin)                   <= 1.4
  schema     -k values-schema over the rendered files / check-jsonschema over them          <= 1.0
  promql     K promql checks against a real local Prometheus: one by one / as shipped      >= 4 (faster)
             as shipped / pytest start-up (--co -p no:slo) + the same queries one by one   <= 2
  xdist      the large gate / the same with -n 2 (and the same findings)                   >= 1.5 (faster)
  scale      per-item cost at 10, 30, 100 sites: max / min                                 <= 1.2
             and the gate at each size / bare pytest, as many trivial items                <= 1.1
plus the peak RSS of the large gate (< 300 MB).

Living with findings (its own section of RESULTS.md):
  baseline   the 100 x 10 gate writing findings with `--baseline=` last run's findings.json /
             the same without a baseline                                                   <= 1.05

The live sources (benchmarks/live.py; their own section of RESULTS.md, kept when only the
others run, and the other way round):
  live-latency  200 promql checks through a latency proxy (20 ms each way), concurrency 8 and
                16 / `--co` + ceil(queries / concurrency) x 40 ms                         <= 1.15
                and TCP connections the proxy accepted per run                  <= concurrency
  kube-scale    the kube checks of 20 apps on a namespace of 5,000 pods (loopback API) /
                `--co` + one pods LIST with the kubernetes client                           <= 2
                and one LIST per (namespace, resource) per run, from the server's request log

Every pytest run gets ``-q -p no:cacheprovider`` and, when installed, ``-p no:hypothesispytest``:
hypothesis is a test dependency of this repository, not of a gate, and its plugin alone adds
~0.6 s to every start-up (both sides), which would flatter every ratio.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from harness import Comparison, Outcome, Side, environment, measure, measure_many, run_timed, write_results  # noqa: E402
from latency_proxy import LatencyProxy  # noqa: E402
from live import PROXY_DELAY, kube_scale, live_latency  # noqa: E402
from make_repo import make_repo  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    sites: int
    apps: int
    scale_sites: tuple[int, ...]
    promql: int
    repeats: int
    concurrencies: tuple[int, ...]  # live-latency
    kube_apps: int  # kube-scale
    kube_pods: int


FULL = Sizes(sites=100, apps=10, scale_sites=(10, 30, 100), promql=200, repeats=5, concurrencies=(8, 16),
             kube_apps=20, kube_pods=5000)
QUICK = Sizes(sites=20, apps=4, scale_sites=(5, 10, 20), promql=40, repeats=2, concurrencies=(4,),
              kube_apps=4, kube_pods=400)
RSS_LIMIT_MB = 300
MAIN = ("gate", "startup", "schema", "promql", "xdist", "scale")
LIVE = ("live-latency", "kube-scale")
FINDINGS = ("baseline",)
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|deselected|errors?|xfailed|xpassed)")


def counts(output: str) -> dict[str, int]:
    """The outcome counts of pytest's last summary line."""
    lines = [line for line in output.splitlines() if SUMMARY.search(line) and " in " in line]
    if not lines:
        raise AssertionError("no pytest summary line in the output")
    found = {word.rstrip("s") if word.startswith("error") else word: int(n) for n, word in SUMMARY.findall(lines[-1])}
    return found


def planted_errors(manifest: dict[str, Any]) -> int:
    """How many items of the synthetic repository error by design (make_repo.expected_errors)."""
    return len(manifest["expected_errors"])


def expect_items(
    total: int, *, keys: tuple[str, ...] = ("passed", "failed", "skipped", "error", "xfailed"), errors: int = 0
) -> Callable[[str], None]:
    def check(output: str) -> None:
        got = counts(output)
        ran = sum(got.get(k, 0) for k in keys)
        assert ran == total, f"expected {total} items to run, got {got}"
        assert got.get("error", 0) == errors, f"expected {errors} errors (the planted ones), got {got}"

    return check


def per_item_lines(scale: list[dict[str, Any]], before: dict[str, dict[str, Any]] | None) -> list[str]:
    """The per-item cost of the gate across sizes, from the scale-N outcomes.

    Wall / items folds the fixed start-up into the figure (it shrinks as the repo grows);
    the marginal cost of the items added between two sizes is the per-item cost proper, and
    a superlinear step shows there first: the target is judged on it. The gate / bare ratio
    is context (pytest's own per-item cost is not flat either).
    """
    def figures(outcomes: list[dict[str, Any]]) -> tuple[list[tuple[int, int, float]], list[float]]:
        walls = [
            (
                int(o["key"].split("-")[1]),
                int(re.search(r"\((\d+) items\)", o["title"]).group(1)),  # type: ignore[union-attr]
                statistics.median(o["num_seconds"]),
            )
            for o in outcomes
        ]
        return walls, [(w2 - w1) / (i2 - i1) * 1000 for (_, i1, w1), (_, i2, w2) in itertools.pairwise(walls)]

    walls, marginal = figures(scale)
    raw = [w / i * 1000 for _, i, w in walls]
    rel = [o["median_ratio"] for o in scale]
    intervals = ", ".join(f"{a}->{b} sites" for (a, _, _), (b, _, _) in itertools.pairwise(walls))
    spread = max(marginal) / min(marginal)
    lines = [
        "Per-item cost of the gate by size ("
        + ", ".join(f"{n} sites" for n, _, _ in walls)
        + ", measured interleaved):",
        f"- marginal cost per added item ({intervals}): {', '.join(f'{v:.3f}' for v in marginal)} ms; max/min "
        f"{spread:.2f}",
        f"- wall / items: {', '.join(f'{v:.3f}' for v in raw)} ms; max/min {max(raw) / min(raw):.2f} (includes "
        "start-up)",
        f"- gate / bare ratio: {', '.join(f'{v:.3f}' for v in rel)}; max/min {max(rel) / min(rel):.2f} (context)",
        f"- scale target (marginal per-item cost flat within 20%): {'holds' if spread <= 1.2 else 'MISSES'} "
        f"({spread:.2f})",
    ]
    old = [before[o["key"]] for o in scale if before and o["key"] in before]
    if len(old) == len(scale) and len(old) > 1:
        _, marginal = figures(old)
        lines.append(
            f"- before: marginal cost {', '.join(f'{v:.3f}' for v in marginal)} ms; max/min "
            f"{max(marginal) / min(marginal):.2f}"
        )
    return lines


def compile_bytecode(python: str, env: Mapping[str, str]) -> None:
    """Bytecode for the measured pytest_slo and the interpreter's packages, as pip leaves an
    installed package: without it every run compiles what has none, and the figures measure the
    compiler (a checkout run with PYTHONDONTWRITEBYTECODE=1 has none)."""
    probe = "import pytest_slo, sysconfig; print(pytest_slo.__path__[0]); print(sysconfig.get_paths()['purelib'])"
    dirs = subprocess.run([python, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout.split()
    subprocess.run([python, "-m", "compileall", "-q", *dirs], env=env, capture_output=True, check=False)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = QUICK if args.quick else FULL
        self.repeats = args.repeats or self.sizes.repeats
        self.python = args.python
        self.work = Path(tempfile.mkdtemp(prefix="slo-bench-"))
        self.env = self._env()
        compile_bytecode(self.python, self.env)
        self.flags = ["-q", "-p", "no:cacheprovider"] + (["-p", "no:hypothesispytest"] if self._hypothesis() else [])
        self.extra: list[str] = []
        self.repos: dict[tuple[int, int], tuple[Path, dict[str, Any]]] = {}
        self.before: dict[str, dict[str, Any]] | None = None
        self.before_label = "none"
        if args.before and args.before.is_file():
            earlier = json.loads(args.before.read_text(encoding="utf-8"))
            if earlier["settings"]["sizes"] == ("quick" if args.quick else "full"):  # else nothing compares
                self.before = {o["key"]: o for o in earlier["outcomes"]}
                self.before_label = (f"{args.before.name}, run {earlier['environment']['date']} with "
                                     f"{earlier['settings']['code']} (before the performance changes)")

    def _env(self) -> dict[str, str]:
        # PYTHONDONTWRITEBYTECODE: both sides run as installed packages do, from bytecode that
        # pip compiled at install (see compile_bytecode), not compiling every module each run
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLO_", "PYTEST_")) and k != "PYTHONDONTWRITEBYTECODE"}
        if self.args.code:  # measure another copy of pytest_slo (e.g. the code before a change)
            env["PYTHONPATH"] = os.pathsep.join(
                [str(Path(self.args.code).resolve()), env.get("PYTHONPATH", "")]
            ).rstrip(os.pathsep)
        return env

    def _hypothesis(self) -> bool:
        if self.args.keep_plugins:
            return False
        return any(ep.name == "hypothesispytest" for ep in importlib.metadata.entry_points(group="pytest11"))

    def pytest(self, *args: str) -> list[str]:
        return [self.python, "-m", "pytest", *self.flags, *args]

    def repo(self, sites: int, apps: int) -> tuple[Path, dict[str, Any]]:
        """A synthetic repo (made once per size) and its manifest."""
        if (sites, apps) not in self.repos:
            path = self.work / f"repo-{sites}x{apps}"
            self.repos[(sites, apps)] = (path, make_repo(path, sites, apps))
        return self.repos[(sites, apps)]

    def bare(self, items: int) -> Path:
        """A folder with one parametrized trivial test of ``items`` cases."""
        path = self.work / f"bare-{items}"
        if not path.exists():
            path.mkdir()
            (path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
            (path / "test_trivial.py").write_text(
                f"import pytest\n\n\n@pytest.mark.parametrize('i', range({items}))\ndef test_trivial(i):\n    pass\n",
                encoding="utf-8",
            )
        return path

    def gate_side(self, sites: int, apps: int, *extra: str, label: str = "gate") -> Side:
        path, manifest = self.repo(sites, apps)
        return Side(
            label,
            [self.pytest(*extra)],
            path,
            self.env,
            (0, 1),
            expect_items(manifest["expected_items"], errors=planted_errors(manifest)),
        )

    def bare_side(self, items: int) -> Side:
        return Side("bare pytest", [self.pytest()], self.bare(items), self.env, (0,), expect_items(items))

    # --- the comparisons ------------------------------------------------------------------

    def gate(self) -> Outcome:
        s = self.sizes
        items = self.repo(s.sites, s.apps)[1]["expected_items"]
        outcome = measure(
            Comparison(
                "gate",
                f"full offline gate, {s.sites} sites x {s.apps} apps ({items} items) / bare pytest, {items} "
                "trivial items",
                self.gate_side(s.sites, s.apps),
                self.bare_side(items),
                ("<=", 1.1),
            ),
            self.repeats,
        )
        mb = outcome.max_rss_kb / 1024
        self.extra.append(f"Peak RSS of the {s.sites} x {s.apps} gate (max over its runs, wait4 ru_maxrss): "
                          f"{mb:.0f} MB ({'under' if mb < RSS_LIMIT_MB else 'OVER'} the {RSS_LIMIT_MB} MB limit).")
        return outcome

    def startup(self) -> list[Outcome]:
        empty = self.work / "empty"
        empty.mkdir(exist_ok=True)
        # The reference layout copied out, as tests/conftest.py does: run in the checkout,
        # `python -m` would put its pytest_slo first on sys.path whatever --code says.
        reference = self.work / "reference"
        if not reference.exists():
            for name in ("sites", "releases", "checks"):
                shutil.copytree(ROOT / name, reference / name)
            (reference / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        gate = Side("merge gate", [self.pytest("--site", "production", "--app", "redis-cluster")], reference, self.env,
                    (0,))
        repeats = max(self.repeats * 2, 6)
        startup = measure(
            Comparison(
                "startup",
                "merge gate start-up: `--site production --app redis-cluster` on the reference repo / "
                "`pytest --co -q` in an empty folder",
                gate,
                Side("empty --co", [self.pytest("--co")], empty, self.env, (5,)),
                ("<=", 1.8),
            ),
            repeats,
        )
        floor = measure(
            Comparison(
                "startup-floor",
                "merge gate start-up / `pytest --co -q -p no:slo` in an empty folder (pytest without this plugin)",
                gate,
                Side("empty --co -p no:slo", [self.pytest("--co", "-p", "no:slo")], empty, self.env, (5,)),
                ("<=", 1.4),
            ),
            repeats,
        )
        return [startup, floor]

    def schema(self) -> Outcome | None:
        s = self.sizes
        path, manifest = self.repo(s.sites, s.apps)
        tool = Path(self.python).parent / "check-jsonschema"
        if not tool.exists():
            self.extra.append("schema: check-jsonschema is not installed next to the Python used; comparison skipped.")
            return None
        cmds = []
        for app in manifest["apps"]:  # one invocation per schema, the files of every site
            paths = [f"sites/{site}/apps/{app}/values.yaml" for site in manifest["sites"]]
            cmds.append([str(tool), "--schemafile", f"releases/1.15/apps/{app}/values.schema.json", *paths])
        files = len(manifest["sites"]) * len(manifest["apps"])
        return measure(
            Comparison(
                "schema",
                f"values-schema items over {files} rendered files / check-jsonschema --schemafile over the same files",
                Side(
                    "pytest -k values-schema",
                    [self.pytest("-k", "values-schema")],
                    path,
                    self.env,
                    (0, 1),
                    expect_items(files, keys=("passed", "failed")),
                ),
                Side("check-jsonschema", cmds, path, self.env, (0, 1)),
                ("<=", 1.0),
                notes=[f"check-jsonschema ran once per app schema ({len(cmds)} runs, times summed)."],
            ),
            self.repeats,
        )

    def xdist(self) -> list[Outcome]:
        s = self.sizes
        outcome = measure(Comparison(
            "xdist", f"the {s.sites} x {s.apps} gate without / with `-n 2` (speed-up)",
            self.gate_side(s.sites, s.apps, label="serial"), self.gate_side(s.sites, s.apps, "-n", "2", label="-n 2"),
            (">=", 1.5), unit="x faster"), self.repeats)
        items = self.repo(s.sites, s.apps)[1]["expected_items"]
        bare = self.bare_side(items)
        floor = measure(Comparison(
            "xdist-floor", f"bare pytest, {items} trivial items, without / with `-n 2` (what xdist costs per item)",
            bare, Side("bare -n 2", [self.pytest("-n", "2")], bare.cwd, self.env, (0,), expect_items(items)),
            (">=", 1.5), unit="x faster", informational=True), self.repeats)
        path, _ = self.repo(s.sites, s.apps)
        found = []
        for name, extra in (("serial", ()), ("n2", ("-n", "2"))):
            out = self.work / f"findings-{name}.json"
            run_timed(self.pytest(f"--findings={out}", *extra), path, self.env)  # --findings=: see the notes
            found.append(json.loads(out.read_text(encoding="utf-8"))["findings"])
        same = found[0] == found[1]
        self.extra.append(f"xdist findings: serial {len(found[0])}, -n 2 {len(found[1])}, "
                          f"{'identical' if same else 'DIFFERENT'} finding lists.")
        outcome.notes.append(f"findings identical: {'yes' if same else 'NO'} ({len(found[0])} findings)")
        return [outcome, floor]

    def baseline(self) -> Outcome:
        """What ``--baseline`` adds: loading last run's findings, matching every finding,
        listing the fixed ones, the states in every report. Both sides write findings."""
        s = self.sizes
        path, manifest = self.repo(s.sites, s.apps)
        earlier = self.work / "baseline.json"
        run_timed(self.pytest(f"--findings={earlier}"), path, self.env)
        found = len(json.loads(earlier.read_text(encoding="utf-8"))["findings"])
        out, plain = self.work / "findings-baseline.json", self.work / "findings-plain.json"
        check = expect_items(manifest["expected_items"], errors=planted_errors(manifest))
        outcome = measure(
            Comparison(
                "baseline",
                f"the {s.sites} x {s.apps} gate writing findings with `--baseline=` (a findings.json of {found} "
                "findings) / without",
                Side(
                    "--baseline",
                    [self.pytest(f"--findings={out}", f"--baseline={earlier}")],
                    path,
                    self.env,
                    (0, 1),
                    check,
                ),
                Side("no baseline", [self.pytest(f"--findings={plain}")], path, self.env, (0, 1), check),
                ("<=", 1.05),
            ),
            self.repeats,
        )
        states = [str(f["baseline_state"]) for f in json.loads(out.read_text(encoding="utf-8"))["findings"]]
        outcome.notes.append(
            "baseline states of the --baseline side's findings: "
            f"{', '.join(f'{states.count(x)} {x}' for x in sorted(set(states)))}"
        )
        return outcome

    def scale(self) -> list[Outcome]:
        s = self.sizes
        sizes = [(sites, self.repo(sites, s.apps)[1]["expected_items"]) for sites in s.scale_sites]
        # interleaved: per-item costs at different sizes are compared with each other, so
        # every size must see the same machine (a busier minute would fake a step)
        measured = measure_many(
            [
                Comparison(
                    f"scale-{sites}",
                    f"gate at {sites} sites x {s.apps} apps ({items} items) / bare pytest, {items} trivial items",
                    self.gate_side(sites, s.apps),
                    self.bare_side(items),
                    ("<=", 1.1),
                )
                for sites, items in sizes
            ],
            self.repeats,
        )
        self.extra += per_item_lines([o.as_dict() for o in measured], self.before)
        return measured

    def promql(self) -> list[Outcome]:
        if not all(shutil.which(b) for b in ("prometheus", "promtool", "redis-server", "prometheus-redis-exporter")):
            self.extra.append(
                "promql: prometheus/redis binaries are missing (scripts/system-deps.sh); comparison skipped."
            )
            return []
        from pytest_slo.expr import render_string
        from teststack.scenario import Stack

        k = self.sizes.promql
        path = self.work / f"repo-promql-{k}"
        manifest = make_repo(path, 1, 2, promql=k, site_names=["production"])
        catalog = __import__("yaml").safe_load((path / "checks" / "bench-promql.yaml").read_text(encoding="utf-8"))
        queries = [
            " ".join(
                render_string(c["query"], {"selector": f'namespace="production", service="{c["apps"][0]}"'}).split()
            )
            for c in catalog["checks"]
        ]
        assert len(set(queries)) == k == len(manifest["promql_checks"]), "the promql checks must be distinct"
        (self.work / "queries.json").write_text(json.dumps(queries), encoding="utf-8")
        with Stack("incident") as stack:
            outcomes = self._promql_sides(path, k, stack.prometheus_url, "")
            with LatencyProxy(stack.prometheus_url, PROXY_DELAY) as proxy:
                outcomes += self._promql_sides(
                    path, k, proxy.url, f" through a latency proxy ({PROXY_DELAY * 1000:.0f} ms each way)"
                )
        return outcomes

    def _promql_sides(self, path: Path, k: int, url: str, how: str) -> list[Outcome]:
        live = ["--live", "-m", "promql", "-k", "bench-promql", f"--prometheus-url={url}"]
        shipped = Side("as shipped", [self.pytest(*live)], path, self.env, (0,), expect_items(k))
        seq = Side("one by one (urllib)", [[self.python, str(HERE / "one_by_one.py"), "--url", url, "--queries",
                                            str(self.work / "queries.json")]], path, self.env, (0,))
        one = Side("pytest --prometheus-concurrency=1", [self.pytest(*live, "--prometheus-concurrency=1")], path,
                   self.env, (0,), expect_items(k))
        suffix, context = ("-latency", True) if how else ("", False)
        floor: list[Outcome] = []
        if not how:
            empty = self.work / "empty"
            empty.mkdir(exist_ok=True)
            start_and_raw = Side("pytest start-up + one by one", [self.pytest("--co", "-p", "no:slo", str(empty)),
                                                                  seq.cmds[0]], path, self.env, (0, 5))
            floor.append(measure(
                Comparison(
                    "promql-floor",
                    f"{k} promql checks on a local Prometheus, the run as shipped / pytest start-up (`--co -p no:slo` "
                    "in an empty folder) + the same queries one by one (urllib)",
                    shipped,
                    start_and_raw,
                    ("<=", 2.0),
                ),
                self.repeats,
            ))
        return [
            *floor,
            measure(
                Comparison(
                    f"promql{suffix}",
                    f"{k} promql checks on a local Prometheus{how}: the same queries one by one (urllib) / the "
                    "run as shipped",
                    seq,
                    shipped,
                    (">=", 4.0),
                    unit="x faster",
                    informational=context,
                ),
                self.repeats,
            ),
            measure(
                Comparison(
                    f"promql-c1{suffix}",
                    f"{k} promql checks{how}: pytest with --prometheus-concurrency=1 / the run as shipped",
                    one,
                    shipped,
                    (">=", 4.0),
                    unit="x faster",
                    informational=context,
                ),
                self.repeats,
            ),
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: small repos, 2 repeats")
    parser.add_argument("--repeats", type=int, help="runs of each side (default 5, quick 2)")
    parser.add_argument("--only", help=f"comma-separated subset: {','.join(MAIN + LIVE + FINDINGS)}")
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose pytest is measured")
    parser.add_argument(
        "--code", help="a folder holding another pytest_slo package to measure (put first on PYTHONPATH)"
    )
    parser.add_argument("--keep-plugins", action="store_true", help="do not disable the hypothesis pytest plugin")
    parser.add_argument(
        "--results", type=Path, default=HERE / "RESULTS.md", help="where to write the results (and .json)"
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=HERE / "RESULTS-before.json",
        help="RESULTS.json of an earlier run, shown as a 'before' column (default: benchmarks/RESULTS-before.json, "
        "the code before the performance changes; --before '' for none)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary repos")
    args = parser.parse_args(argv)
    every = MAIN + LIVE + FINDINGS
    wanted = set(args.only.split(",")) if args.only else set(every)
    if wanted - set(every):
        parser.error(f"--only: unknown {', '.join(sorted(wanted - set(every)))} (choose from {', '.join(every)})")
    bench = Bench(args)
    outcomes: list[Outcome] = []
    live: list[Outcome] = []
    living: list[Outcome] = []
    live_extra_from = 0
    try:
        gate = bench.gate() if "gate" in wanted else None
        outcomes += [gate] if gate else []
        outcomes += bench.startup() if "startup" in wanted else []
        schema = bench.schema() if "schema" in wanted else None
        outcomes += [schema] if schema else []
        outcomes += bench.promql() if "promql" in wanted else []
        outcomes += bench.xdist() if "xdist" in wanted else []
        outcomes += bench.scale() if "scale" in wanted else []
        live_extra_from = len(bench.extra)
        s = bench.sizes
        live += live_latency(bench, s.promql, s.concurrencies) if "live-latency" in wanted else []
        live += kube_scale(bench, s.kube_apps, s.kube_pods) if "kube-scale" in wanted else []
        living_extra_from = len(bench.extra)
        living += [bench.baseline()] if "baseline" in wanted else []
    finally:
        if not args.keep:
            shutil.rmtree(bench.work, ignore_errors=True)
    settings = {"sizes": "quick" if args.quick else "full", "repeats": bench.repeats,
                "pytest flags": " ".join(bench.flags), "code": args.code or "the installed pytest_slo"}
    env = environment(bench.python)
    if wanted & set(MAIN):
        write_results(args.results, env, outcomes, bench.extra[:live_extra_from],
                      {**settings, "before column": bench.before_label}, bench.before)
    if wanted & set(LIVE):
        write_results(args.results, env, live, bench.extra[live_extra_from:living_extra_from], settings, section="live",
                      heading="Live sources: Prometheus under latency, Kubernetes at scale")
    if wanted & set(FINDINGS):
        write_results(args.results, env, living, bench.extra[living_extra_from:], settings, section="findings",
                      heading="Living with findings: what --baseline adds to the gate")
    print()
    print(args.results.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
