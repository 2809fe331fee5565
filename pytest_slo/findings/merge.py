"""``python -m pytest_slo merge FILES...``: one report from the findings of many runs.

A CI matrix runs one job per site, each writing ``--findings=out/<site>/findings.json``; the
merge job reads them all and writes the same JSON, Markdown, SARIF (and HTML) reports as a
single run would, with the sites side by side. Findings are collapsed by ``fingerprint``
(or check + site + app + message for a finding written before fingerprints existed): the
newest input's copy is kept. Each input's sites, time and commit are kept in
``summary.inputs``; an input that is not a findings document (malformed, truncated, another
file) is named in ``summary.skipped_inputs`` and on stderr, and the exit code says so.

Exit codes: 0 every input merged; 1 some inputs were skipped (the reports hold the others);
2 a usage error, no input could be read, or a report could not be written.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from .document import problem_of
from .model import SEVERITIES, Finding, atomic_write, counted, sort_findings

__all__ = ["EXIT_OK", "EXIT_SKIPPED", "EXIT_USAGE", "MergeResult", "main", "merge", "read_input"]

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE = 0, 1, 2
_COUNTS = ("items", "passed", "failed", "errors", "skipped", "waived", "catalog_problems")


class BadInput(Exception):
    """A file that is not a findings document; the message says why."""


def read_input(path: Path) -> dict[str, Any]:
    """The findings document at ``path``, checked for the fields the reports need."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BadInput("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"not JSON (truncated?): {exc}") from None
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("summary"), dict)
        or not isinstance(doc.get("findings"), list)
    ):
        raise BadInput('not a pytest-slo findings document: expected {"summary": {...}, "findings": [...]}')
    problem = problem_of(doc)
    if problem:
        raise BadInput(f"not a pytest-slo findings document: {problem}")
    return doc


def _key(f: Finding) -> tuple[str, ...]:
    if f.get("fingerprint"):
        return ("fp", str(f["fingerprint"]))
    return ("id", str(f.get("check")), str(f.get("site")), str(f.get("app")), str(f.get("message")))


class MergeResult:
    """The merged summary and findings, and the inputs that were skipped (file, reason)."""

    def __init__(self, summary: dict[str, Any], findings: list[Finding], skipped: list[tuple[str, str]]) -> None:
        self.summary, self.findings, self.skipped = summary, findings, skipped


def merge(paths: Sequence[Path]) -> MergeResult:
    docs: list[tuple[Path, dict[str, Any]]] = []
    skipped: list[tuple[str, str]] = []
    for path in paths:
        try:
            docs.append((path, read_input(path)))
        except BadInput as exc:
            skipped.append((str(path), str(exc)))
    # oldest first, so a newer run's copy of a duplicate replaces an older one
    docs.sort(key=lambda d: str(d[1]["summary"].get("generated_at") or ""))
    merged: dict[tuple[str, ...], Finding] = {}
    totals: Counter[str] = Counter()
    sites: set[str] = set()
    apps: set[str] = set()
    inputs = []
    for path, doc in docs:
        summary = doc["summary"]
        for name in _COUNTS:
            value = summary.get(name)
            totals[name] += value if isinstance(value, int) else 0
        run_sites = [str(s) for s in summary.get("sites") or []]
        sites.update(run_sites)
        apps.update(str(a) for a in summary.get("apps") or [])
        inputs.append({"file": str(path), "sites": run_sites, "generated_at": summary.get("generated_at"),
                       "commit": summary.get("commit"), "findings": len(doc["findings"])})
        for f in doc["findings"]:
            merged[_key(f)] = cast(Finding, {**f, "source": str(path)})  # read against the findings schema
    findings = sort_findings(merged.values())
    verdicts = [f for f in findings if counted(f)]
    by_severity = Counter(f.get("severity") for f in verdicts)
    summary = {
        "generated_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "sites": sorted(sites),
        "apps": sorted(apps),
        **{name: totals[name] for name in _COUNTS},
        "findings": len(verdicts),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
        "inputs": inputs,
        "skipped_inputs": [{"file": f, "reason": r} for f, r in skipped],
    }
    return MergeResult(summary, findings, skipped)


def _sarif_run(base_url: str | None, root: Path) -> Any:
    """What the SARIF renderer reads of a run, for findings without a catalog: rules come
    from the findings themselves (id, title, runbook, severity); the repository at ``root``
    gives the findings without a line to edit the line that declares their objects."""
    return SimpleNamespace(settings=SimpleNamespace(runbook_base_url=base_url), catalog=SimpleNamespace(checks=[]),
                           repo=SimpleNamespace(root=root))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_slo merge",
        description="Merge the findings.json of many pytest-slo runs (one per site) into one report.",
        epilog="Exit codes: 0 every input merged; 1 some inputs were skipped (named on stderr); "
        "2 usage error, no readable input, or a report could not be written.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="FINDINGS_JSON", help="findings.json files of the runs")
    parser.add_argument("--findings", type=Path, metavar="PATH", help="write the merged findings as JSON")
    parser.add_argument("--findings-md", type=Path, metavar="PATH", help="write a Markdown summary")
    parser.add_argument("--sarif", type=Path, metavar="PATH", help="write SARIF 2.1.0")
    parser.add_argument("--html", type=Path, metavar="PATH", help="write one self-contained HTML page")
    parser.add_argument("--runbook-base-url", metavar="URL", help="prefix turning repo-relative runbooks into links")
    parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                        help="the GitOps repository the runbook links and config.env lines are read from (default: .)")
    return parser


def _write(outputs: Sequence[tuple[str, Path, Any]]) -> bool:
    ok = True
    for _, path, render in outputs:
        try:
            atomic_write(path, render())
        except OSError as exc:
            print(f"pytest-slo merge: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            ok = False
        else:
            print(f"pytest-slo merge: {path} written")
    return ok


def _write_all(outputs: Sequence[tuple[str, Path, Any]]) -> bool:
    """Render and write every report. Rendering thousands of findings is CPU work (the JSON
    encoder with indentation is pure Python): with more than one CPU, a forked child renders
    the SARIF and HTML while this process renders the JSON and Markdown."""
    apart = [o for o in outputs if o[0] in ("sarif", "html")]
    here = [o for o in outputs if o[0] not in ("sarif", "html")]
    if not (apart and here) or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return _write(outputs)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: write its reports, say so, and leave without running atexit hooks
        ok = False
        try:
            ok = _write(apart)
        finally:  # whatever happens, the child never returns into the parent's code
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0 if ok else 1)
    ok = _write(here)
    _, status = os.waitpid(pid, 0)
    return ok and os.waitstatus_to_exitcode(status) == 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not (args.findings or args.findings_md or args.sarif or args.html):
        parser.error("nothing to write: give at least one of --findings, --findings-md, --sarif, --html")
    result = merge(args.inputs)
    for file, reason in result.skipped:
        print(f"pytest-slo merge: skipped {file}: {reason}", file=sys.stderr)
    if not result.summary["inputs"]:
        print("pytest-slo merge: no input could be read; nothing written", file=sys.stderr)
        return EXIT_USAGE
    summary, findings = result.summary, result.findings
    outputs: list[tuple[str, Path, Any]] = []
    if args.findings:
        from .json import render_json

        outputs.append(("json", args.findings, lambda: render_json(summary, findings)))
    if args.findings_md:
        from .markdown import render_markdown

        outputs.append(("markdown", args.findings_md, lambda: render_markdown(summary, findings)))
    if args.sarif:
        from .sarif import render_sarif

        outputs.append(
            ("sarif", args.sarif, lambda: render_sarif(_sarif_run(args.runbook_base_url, args.root), findings))
        )
    if args.html:
        from .html import render_html

        sources = [
            {"site": ", ".join(i["sites"]), "generated_at": i["generated_at"], "commit": i["commit"], "file": i["file"]}
            for i in summary["inputs"]
        ]
        outputs.append(
            (
                "html",
                args.html,
                lambda: render_html(
                    summary,
                    findings,
                    sources=sources,
                    base=args.html.resolve().parent,
                    root=args.root.resolve(),
                    runbook_base_url=args.runbook_base_url,
                ),
            )
        )
    code = EXIT_SKIPPED if result.skipped else EXIT_OK
    if not _write_all(outputs):
        code = EXIT_USAGE
    print(
        f"pytest-slo merge: {len(summary['inputs'])} inputs, {len(summary['sites'])} sites, {summary['findings']} "
        "findings"
        + (f"; {len(result.skipped)} inputs skipped" if result.skipped else "")
    )
    return code
