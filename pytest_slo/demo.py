"""``make demo``: run the gate on the shipped example and say where the findings went."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_slo.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out"), help="where findings are written")
    parser.add_argument("--site", default="production")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    command = [
        sys.executable, "-m", "pytest", "--site", args.site, "-p", "no:cacheprovider",
        "--findings", str(out / "findings.json"), "--findings-md", str(out / "findings.md"),
        "--sarif", str(out / "findings.sarif"),
    ]
    code = subprocess.call(command)
    print(f"\nfindings: {out / 'findings.json'}, {out / 'findings.md'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
