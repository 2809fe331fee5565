#!/usr/bin/env python3
"""Send instant queries to Prometheus one by one, as a naive client would: the baseline of
the promql benchmark.

    python benchmarks/one_by_one.py --url http://127.0.0.1:9090 --queries queries.json

One sequential ``GET /api/v1/query`` per query (urllib, a new connection each, like the
shipped source), all at one evaluation time; exits 1 if any answer is not ``success``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="Prometheus base URL (loopback)")
    parser.add_argument("--queries", type=Path, required=True, help="JSON list of PromQL strings")
    args = parser.parse_args(argv)
    queries = json.loads(args.queries.read_text(encoding="utf-8"))
    at = round(time.time(), 3)
    failed = 0
    for query in queries:
        params = urllib.parse.urlencode({"query": query, "time": at})
        with urllib.request.urlopen(f"{args.url}/api/v1/query?{params}", timeout=10) as answer:
            body = json.loads(answer.read())
        failed += body.get("status") != "success"
    print(f"{len(queries)} queries, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
