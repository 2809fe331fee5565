"""Mutation testing of the modules that decide verdicts, and a table of what the tests noticed.

    python mutation/run.py                              every verdict module (pyproject's only_mutate)
    python mutation/run.py pytest_slo/units.py          one module (or several)
    python mutation/run.py --tests=all ...              every unit test, the end-to-end pytester runs too

mutmut (3.8) changes the code one small edit at a time and runs the tests that reach the changed
function; a mutant no test fails on "survived". The verdict modules are the one list
``[tool.mutmut] only_mutate`` in pyproject.toml; every one of them is always mutated (a file
left out once would be copied back without its mutants and then look covered), and the mutants
of the modules asked for are all run again, so a new test counts at once.

Unit tests only, never a server: ``-m "not servers"`` and the test files that start servers
without saying so are left out (pyproject's ``pytest_add_cli_args``). By default the tests that
run a whole pytest session in-process (``pytester``) are left out too: they take seconds each,
and a surviving mutant would wait for every one of them. ``--tests=all`` keeps them. Tests that
run pytest-slo in a subprocess check the unmutated package and kill nothing. Every pytest
session of a run first checks that ``pytest_slo`` is mutmut's copy in mutants/, not the installed
package its ``pytest11`` entry point could load; and mutmut refuses to go on unless the tests
fail when every mutated function raises.

The mutants that change nothing a user could see are listed in mutation/EQUIVALENT.md.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shlex
import sys
import time
import types
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# mutmut's exit codes, grouped as the table shows them (mutmut.stats.status_by_exit_code)
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {24, -24, 36, 152, 255}


def without_pytester(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselects the tests that run a whole pytest session (they use the ``pytester`` fixture)."""
    whole = [item for item in items if "pytester" in getattr(item, "fixturenames", ())]
    if whole:
        ids = set(map(id, whole))
        items[:] = [item for item in items if id(item) not in ids]
        config.hook.pytest_deselected(items=whole)


def mutated_copy_only(config: pytest.Config) -> None:
    """Refuses a run whose tests would import pytest-slo from anywhere but mutmut's copy (the
    installed package, say, loaded from its ``pytest11`` entry point before the copy was on
    ``sys.path``): every mutant would then survive unseen."""
    import pytest_slo

    where = Path(pytest_slo.__file__).resolve()
    if not where.is_relative_to(ROOT / "mutants"):
        raise pytest.UsageError(
            f"the tests import pytest_slo from {where.parent}, not from mutants/: no mutant would be run"
        )


def modules(patterns: list[str]) -> list[str]:
    """The files the ``only_mutate`` patterns name today, in the list's order."""
    found: list[str] = []
    for pattern in patterns:
        for path in sorted(ROOT.glob(pattern)):
            name = path.relative_to(ROOT).as_posix()
            if name not in found:
                found.append(name)
    return found


def mutant_globs(target: str) -> list[str]:
    """The names mutmut gives the mutants of ``target``: ``pytest_slo/units.py`` → ``pytest_slo.units.*``;
    ``pytest_slo/catalog/waivers.py::Waiver`` (a class), ``::Waiver.applies`` or ``::load_waivers`` narrow it."""
    path, _, name = target.partition("::")
    module = path.removesuffix(".py").replace("/", ".")
    if not name:
        return [module + ".*"]
    cls, _, method = name.partition(".")
    if method:
        return [f"{module}.x\u01c1{cls}\u01c1{method}__mutmut_*"]
    return [f"{module}.x\u01c1{name}\u01c1*", f"{module}.x_{name}__mutmut_*"]


def codes_of(target: str) -> dict[str, int | None]:
    """How each mutant of ``target`` ended, from mutmut's record of its file."""
    meta = ROOT / "mutants" / (target.partition("::")[0] + ".meta")
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"] if meta.is_file() else {}
    globs = mutant_globs(target)
    return {k: v for k, v in codes.items() if any(fnmatch.fnmatchcase(k, g) for g in globs)}


def tally(target: str) -> Counter[str]:
    codes = codes_of(target)
    out: Counter[str] = Counter(mutants=len(codes))
    for code in codes.values():
        if code in KILLED:
            out["killed"] += 1
        elif code in SURVIVED:
            out["survived"] += 1
        elif code in NO_TESTS:
            out["no tests"] += 1
        elif code in TIMEOUT:
            out["timeout"] += 1
        elif code is None:
            out["not run"] += 1
        else:
            out["other"] += 1
    return out


def table(names: list[str]) -> str:
    cols = ("mutants", "killed", "survived", "no tests", "timeout", "not run", "other")
    lines = ["| module | " + " | ".join(cols) + " | score |", "|---" * (len(cols) + 2) + "|"]
    for name in names:
        t = tally(name)
        score = f"{100 * t['killed'] / t['mutants']:.1f}%" if t["mutants"] else "-"
        lines.append(f"| {name} | " + " | ".join(str(t[c]) for c in cols) + f" | {score} |")
    return "\n".join(lines)


def survivors(targets: list[str]) -> list[str]:
    return [name for target in targets for name, code in sorted(codes_of(target).items()) if code not in KILLED]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("module", nargs="*", help="verdict modules to run (default: all of [tool.mutmut] only_mutate)")
    parser.add_argument(
        "--tests",
        choices=("unit", "all"),
        default="unit",
        help="unit: no pytester runs (default); all: every unit test",
    )
    parser.add_argument(
        "--pytest-args",
        default="",
        metavar="ARGS",
        help="more pytest arguments for every run, e.g. --ignore=tests/test_x.py",
    )
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--fail-under", type=float, default=None, metavar="PERCENT", help="exit 1 when a module scores less"
    )
    parser.add_argument("--table-only", action="store_true", help="print the table of the last runs, run nothing")
    args = parser.parse_args(argv)

    os.chdir(ROOT)  # mutmut reads pyproject.toml and writes mutants/ in the current directory
    from mutmut.configuration import config

    cfg = config()
    every = modules(cfg.only_mutate)
    chosen = every
    if args.module:
        chosen = []
        for wanted in args.module:
            path, scope, name = wanted.partition("::")
            path = Path(path).resolve().relative_to(ROOT).as_posix() if Path(path).exists() else path
            if path not in every:
                listed = "\n  ".join(every)
                parser.error(
                    f"{wanted} is not a verdict module; add it to [tool.mutmut] only_mutate in pyproject.toml, or "
                    f"pick one of:\n  {listed}"
                )
            chosen.append(path + scope + name)
    if not args.table_only:
        # `-p NAME` imports NAME: this module, already in sys.modules, is the plugin
        plugin = types.ModuleType("mutation_guard", "PYTEST_DONT_REWRITE")
        plugin.pytest_configure = mutated_copy_only  # type: ignore[attr-defined]
        if args.tests == "unit":
            plugin.pytest_collection_modifyitems = without_pytester  # type: ignore[attr-defined]
        sys.modules["mutation_guard"] = plugin
        cfg.pytest_add_cli_args = [*cfg.pytest_add_cli_args, "-p", "mutation_guard", *shlex.split(args.pytest_args)]
        from mutmut.__main__ import cli

        start = time.monotonic()
        try:
            cli.main(
                [
                    "run",
                    "--max-children",
                    str(args.max_children),
                    *(g for target in chosen for g in mutant_globs(target)),
                ],
                standalone_mode=False,
            )
        except SystemExit as exc:
            if exc.code:
                return int(exc.code) if isinstance(exc.code, int) else 1
        print(f"\nmutation run of {len(chosen)} module(s), tests={args.tests}: {time.monotonic() - start:.0f} s")
    left = survivors(chosen)
    if left:
        print("\nnot killed (mutmut show NAME shows the edit; equivalent ones are listed in mutation/EQUIVALENT.md):")
        print("\n".join("  " + name for name in left))
    print()
    print(table(chosen))
    if args.fail_under is not None:
        low = [n for n in chosen if (t := tally(n))["mutants"] and 100 * t["killed"] / t["mutants"] < args.fail_under]
        if low:
            print(f"\nunder {args.fail_under:g}%: {', '.join(low)}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
