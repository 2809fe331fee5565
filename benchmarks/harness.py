"""Timing machinery of the benchmarks: timed subprocesses, alternating sides, medians, RESULTS.md.

Every figure is a ratio of two sides measured in the same run, alternately, so that a slower
or busier machine moves both sides together. Bare wall times are printed as context only.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Comparison",
    "Outcome",
    "Run",
    "Side",
    "environment",
    "measure",
    "measure_many",
    "run_timed",
    "write_results",
]


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_kb: int
    returncode: int
    output: str
    cpu_seconds: float


def run_timed(cmd: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> Run:
    """Run ``cmd``; wall time, and the peak RSS of that very child (``wait4``, not the
    cumulative RUSAGE_CHILDREN, which would report the largest child of the whole harness)."""
    with tempfile.TemporaryFile() as out:  # a file, not a pipe: no deadlock, no reader thread
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env) if env is not None else None,
                                stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait again
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    return Run(seconds, usage.ru_maxrss, proc.returncode, text, usage.ru_utime + usage.ru_stime)


@dataclass
class Side:
    """One side of a comparison: one command, or several whose times add up (``cmds``)."""

    label: str
    cmds: list[list[str]]
    cwd: Path
    env: Mapping[str, str] | None = None
    ok_codes: tuple[int, ...] = (0,)
    #: Raises AssertionError when a run's output shows it measured the wrong thing.
    check: Callable[[str], None] | None = None
    #: Called before every run (e.g. to reset a server's counters that ``check`` reads).
    before: Callable[[], object] | None = None
    #: Seconds added to every run: a computed part of a floor that no command pays
    #: (round trips of a network the benchmark only simulates).
    plus: float = 0.0
    #: Commands (by index) that time their own work and print ``seconds: N`` as their last
    #: line: that work counts, not the interpreter's start-up and imports around it.
    self_timed: tuple[int, ...] = ()
    #: Every run's wall time of each command, whatever counted (context for notes).
    walls: list[list[float]] = field(default_factory=list)

    def once(self) -> Run:
        if self.before is not None:
            self.before()
        runs = [run_timed(cmd, self.cwd, self.env) for cmd in self.cmds]
        for cmd, run in zip(self.cmds, runs, strict=True):
            if run.returncode not in self.ok_codes:
                raise RuntimeError(f"{self.label}: exit {run.returncode} from {' '.join(cmd)}\n{run.output[-3000:]}")
            if self.check is not None:
                try:
                    self.check(run.output)
                except AssertionError as exc:
                    raise RuntimeError(f"{self.label}: {exc}\n{run.output[-3000:]}") from None
        self.walls.append([r.seconds for r in runs])
        seconds = [_own_seconds(r, cmd) if i in self.self_timed else r.seconds
                   for i, (cmd, r) in enumerate(zip(self.cmds, runs, strict=True))]
        return Run(
            sum(seconds) + self.plus, max(r.max_rss_kb for r in runs), runs[-1].returncode,
            runs[-1].output, sum(r.cpu_seconds for r in runs),
        )


def _own_seconds(run: Run, cmd: Sequence[str]) -> float:
    last = run.output.strip().splitlines()[-1] if run.output.strip() else ""
    if not last.startswith("seconds: "):
        raise RuntimeError(f"{' '.join(cmd)} did not print its time ('seconds: N') last:\n{run.output[-3000:]}")
    return float(last.split()[1])


@dataclass
class Comparison:
    """``ratio = numerator / denominator`` of the medians; ``target`` is (op, value)."""

    key: str
    title: str
    numerator: Side
    denominator: Side
    target: tuple[str, float]
    unit: str = "x"  # "x": ratio of times; "x faster": denominator is the shipped side
    notes: list[str] = field(default_factory=list)
    #: Context for another figure, not a target of its own (shown, never judged).
    informational: bool = False
    #: What the sides saw besides time (connection counts, request logs), filled as they run.
    observed: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    key: str
    title: str
    numerator: str
    denominator: str
    num_seconds: list[float]
    den_seconds: list[float]
    ratios: list[float]
    target: tuple[str, float]
    unit: str
    max_rss_kb: int
    notes: list[str]
    informational: bool = False
    observed: dict[str, Any] = field(default_factory=dict)

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def ratio_of_medians(self) -> float:
        return statistics.median(self.num_seconds) / statistics.median(self.den_seconds)

    @property
    def holds(self) -> bool:
        op, value = self.target
        return self.median_ratio <= value if op == "<=" else self.median_ratio >= value

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title, "numerator": self.numerator, "denominator": self.denominator,
            "num_seconds": self.num_seconds, "den_seconds": self.den_seconds, "ratios": self.ratios,
            "median_ratio": self.median_ratio, "target": list(self.target), "unit": self.unit,
            "holds": self.holds, "max_rss_kb": self.max_rss_kb, "notes": self.notes,
            "informational": self.informational, "observed": self.observed,
        }


def _log(line: str) -> None:
    print(line, flush=True)  # progress shows in a log file as it happens, not at exit


def measure(comp: Comparison, repeats: int, *, warmup: bool = True, log: Callable[[str], None] = _log) -> Outcome:
    """Run both sides ``repeats`` times, alternating which goes first, after one warm-up each
    (page cache, .pyc files): the median of each side and the median of per-pair ratios."""
    return measure_many([comp], repeats, warmup=warmup, log=log)[0]


def measure_many(comps: Sequence[Comparison], repeats: int, *, warmup: bool = True,
                 log: Callable[[str], None] = _log) -> list[Outcome]:
    """:func:`measure` for several comparisons interleaved: each repeat runs every pair, in a
    rotating order, so that figures compared with each other (sizes) share the machine's drift."""
    if warmup:
        for comp in comps:
            comp.numerator.once()
            comp.denominator.once()
    nums: list[list[float]] = [[] for _ in comps]
    dens: list[list[float]] = [[] for _ in comps]
    rss = [0 for _ in comps]
    for i in range(repeats):
        for j in [(i + k) % len(comps) for k in range(len(comps))]:
            comp = comps[j]
            order = (comp.numerator, comp.denominator) if i % 2 == 0 else (comp.denominator, comp.numerator)
            got = {id(side): side.once() for side in order}
            num, den = got[id(comp.numerator)], got[id(comp.denominator)]
            nums[j].append(num.seconds)
            dens[j].append(den.seconds)
            rss[j] = max(rss[j], num.max_rss_kb)
            log(f"  [{comp.key}] {i + 1}/{repeats}: {comp.numerator.label} {num.seconds:.3f}s, "
                f"{comp.denominator.label} {den.seconds:.3f}s -> {num.seconds / den.seconds:.2f}")
    outcomes = []
    for j, comp in enumerate(comps):
        outcome = Outcome(comp.key, comp.title, comp.numerator.label, comp.denominator.label, nums[j], dens[j],
                          [n / d for n, d in zip(nums[j], dens[j], strict=True)], comp.target, comp.unit, rss[j],
                          comp.notes, comp.informational, comp.observed)
        log(f"{comp.key}: median {statistics.median(nums[j]):.3f}s vs {statistics.median(dens[j]):.3f}s, "
            f"median ratio {outcome.median_ratio:.2f}{comp.unit} (target {comp.target[0]} {comp.target[1]}) "
            f"{'(context)' if comp.informational else 'HOLDS' if outcome.holds else 'MISSES'}")
        outcomes.append(outcome)
    return outcomes


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment(python: str) -> dict[str, str]:
    """What the figures depend on, read from the interpreter the benchmarks run."""
    probe = "import sys, platform; print(sys.version.split()[0]); print(platform.python_implementation())"
    version, impl = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    try:
        cpu = (
            open("/proc/cpuinfo", encoding="utf-8")
            .read()
            .split("model name")[1]
            .split(":", 1)[1]
            .splitlines()[0]
            .strip()
        )
    except (OSError, IndexError):
        cpu = platform.processor() or "unknown"
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": f"{impl} {version}",
        "pytest": _version("pytest"),
        "pytest-xdist": _version("pytest-xdist"),
        "jsonschema": _version("jsonschema"),
        "check-jsonschema": _version("check-jsonschema"),
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "platform": platform.platform(),
        "harness python": sys.version.split()[0],
    }


def _fmt(outcome: Mapping[str, Any]) -> str:
    op, value = outcome["target"]
    if outcome.get("informational"):
        return f"{outcome['median_ratio']:.2f}{outcome['unit']} (context, no target)"
    return (
        f"{outcome['median_ratio']:.2f}{outcome['unit']} ({'holds' if outcome['holds'] else 'misses'} {op} {value:g})"
    )


INTRO = [
    "# Benchmark results",
    "",
    "Written by `benchmarks/run.py` (`make bench`). Every figure is a ratio of two sides",
    "measured alternately in this run; seconds are medians, shown for context only.",
    "",
]
MAIN = "main"


def _section_text(
    env: Mapping[str, str],
    outcomes: Sequence[Outcome],
    extra: Sequence[str],
    settings: Mapping[str, Any],
    before: Mapping[str, Mapping[str, Any]] | None,
    heading: str | None,
) -> list[str]:
    lines = [f"## {heading}", ""] if heading else []
    lines += [f"- {k}: {v}" for k, v in env.items()]
    lines += [f"- {k}: {v}" for k, v in settings.items()]
    lines += ["", "| comparison | numerator (median s) | denominator (median s) | median ratio (target) |"
              + (" before |" if before else ""), "|---|---|---|---|" + ("---|" if before else "")]
    for o in outcomes:
        d = o.as_dict()
        row = (f"| {o.title} | {o.numerator}: {statistics.median(o.num_seconds):.3f} | "
               f"{o.denominator}: {statistics.median(o.den_seconds):.3f} | {_fmt(d)} |")
        if before:
            row += f" {_fmt(before[o.key])} |" if o.key in before else " - |"
        lines.append(row)
    lines += ["", *extra, ""]
    for o in outcomes:
        if o.notes:
            lines += [f"Notes on {o.key}:", *[f"- {n}" for n in o.notes], ""]
    return lines


def _sections(text: str) -> dict[str, str]:
    """The sections of an earlier RESULTS.md, by name; a file from before sections is all ``main``."""
    found = dict(re.findall(r"(?ms)^<!-- section: (\S+) -->\n(.*?)^<!-- end: \1 -->\n", text))
    if not found and "\n- date: " in text:
        found[MAIN] = text[text.index("\n- date: ") + 1:].rstrip("\n") + "\n"
    return found


def write_results(path: Path, env: Mapping[str, str], outcomes: Sequence[Outcome], extra: Sequence[str],
                  settings: Mapping[str, Any], before: Mapping[str, Mapping[str, Any]] | None = None, *,
                  section: str = MAIN, heading: str | None = None) -> None:
    """RESULTS.md: per section, the environment, one row per comparison, then the notes; a
    ``before`` run (the JSON of an earlier run, e.g. on the code before a change) adds a column.

    Only ``section`` is rewritten: the others (runs of other comparisons, on other days)
    stay as they were, in RESULTS.md and in RESULTS.json (``main`` at the top level, as
    ``--before`` reads it; the others under ``sections``).
    """
    json_path = path.with_suffix(".json")
    old_md = _sections(path.read_text(encoding="utf-8")) if path.is_file() else {}
    old_json: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8")) if json_path.is_file() else {}
    body = "\n".join(_section_text(env, outcomes, extra, settings, before, heading)).rstrip("\n") + "\n"
    texts = {**old_md, section: body}
    lines = list(INTRO)
    for name in sorted(texts, key=lambda n: (n != MAIN, n)):  # main first
        lines += [f"<!-- section: {name} -->", texts[name].rstrip("\n"), f"<!-- end: {name} -->", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    doc = {"environment": dict(env), "settings": dict(settings), "outcomes": [o.as_dict() for o in outcomes],
           "extra": list(extra)}
    if section == MAIN:
        merged = {**doc, "sections": old_json.get("sections", {})}
    else:
        merged = {**old_json, "sections": {**old_json.get("sections", {}), section: doc}}
    json_path.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
