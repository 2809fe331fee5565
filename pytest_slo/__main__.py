"""``python -m pytest_slo COMMAND``: the commands that run outside pytest.

``merge``: one report from the findings.json of many runs (see :mod:`pytest_slo.findings.merge`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

USAGE = "usage: python -m pytest_slo merge FINDINGS_JSON... [--findings PATH] [--findings-md PATH] [--sarif PATH] [--html PATH]"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "merge":
        from .findings.merge import main as merge

        return merge(args[1:])
    print(USAGE if not args or args[0] in ("-h", "--help") else f"unknown command {args[0]!r}\n{USAGE}", file=sys.stderr)
    return 0 if args and args[0] in ("-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main())
