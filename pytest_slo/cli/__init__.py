"""``pytest-slo COMMAND`` (also ``python -m pytest_slo``): the commands that run outside pytest.

* ``init [DIR]``: a new GitOps repository that passes its own gate at once;
* ``explain CHECK --site SITE``: a check as it reads at a site, the config keys it reads, its
  verdict (live ones with ``--live``), and its runbook;
* ``render --site SITE``: every app's values by the repository's render contract;
* ``merge FILES...``: one report from the findings of many runs.

Owns: argument parsing and what each command prints; the work is the stages' (a command
builds the same :class:`~pytest_slo.run.context.RunContext` a pytest run does). Exit codes:
0 done (``explain``: the check passes or was not judged), 1 ``explain``: the check fails,
2 a usage error or an input that cannot be read.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

USAGE = """usage: pytest-slo COMMAND ...

commands:
  init [DIR]                                 write a new GitOps repository that passes its own gate
  explain CHECK --site SITE [--app APP] [--live]
                                             a check as it reads at a site, the keys it reads, its verdict
  render --site SITE [--app APP]             render every app of a site (the repository's render contract)
  merge FINDINGS_JSON... [--findings PATH] [--findings-md PATH] [--sarif PATH] [--html PATH]
                                             one report from the findings of many runs

pytest-slo COMMAND --help says more; the gate itself is `pytest` (pytest --help lists the slo options)."""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # `pytest-slo explain ... | head`: the reader has what it wanted
        sys.stderr.close()
        return 0


def _main(args: list[str]) -> int:
    command, rest = (args[0], args[1:]) if args else ("", [])
    if command == "merge":
        from ..findings.merge import main as merge

        return merge(rest)
    if command == "init":
        from .init import main as init

        return init(rest)
    if command == "explain":
        from .explain import main as explain

        return explain(rest)
    if command == "render":
        from .render import main as render

        return render(rest)
    if command in ("-h", "--help"):
        print(USAGE)
        return 0
    print(USAGE if not command else f"pytest-slo: unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2
