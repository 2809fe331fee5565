"""``make demo``: the example incident, caught live.

Starts the local stack of the incident (a real Redis under noeviction filled until writes
fail, redis_exporter, Prometheus with the memory growth and the SLO breach in its history)
and a loopback Kubernetes API serving the incident's cluster (redis-cluster-2 OOM-killed in
CrashLoopBackOff, the StatefulSet still at 512Mi). Then runs the shipped production site
against it, live, as the nightly job would; prints where the findings and the postmortem
draft went; and stops every process it started, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

INTERRUPTED = 130


def _pytest_command(out: Path, site: str, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "--site", site, "--live", "-p", "no:cacheprovider",
        "--kube-context", "fake-kube",
        f"--findings={out / 'findings.json'}",
        f"--findings-md={out / 'findings.md'}",
        f"--sarif={out / 'findings.sarif'}",
        f"--postmortem-dir={out / 'postmortems'}",
        *extra,
    ]


def _run(command: list[str], env: dict[str, str]) -> int:
    child = subprocess.Popen(command, env=env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached pytest too (same process group): let it write what it has.
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
        return INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m teststack.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=Path("out"), help="where findings and postmortems are written (default: out)"
    )
    parser.add_argument("--site", default="production", help="the site to run (default: production)")
    parser.add_argument(
        "--scenario", choices=("incident", "fixed"), default="incident", help="the state of the local stack"
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    from teststack.kubeapi import FakeKubeAPI, shift_snapshot
    from teststack.scenario import Stack
    from teststack.servers import StackError

    out = args.out.resolve()
    snapshot = Path("examples/snapshots") / f"{args.scenario}.json"
    print(
        f"pytest-slo demo: starting the '{args.scenario}' stack (Redis, redis_exporter, Prometheus, Kubernetes "
        "API) ...",
        flush=True,
    )
    try:
        with Stack(args.scenario) as stack, tempfile.TemporaryDirectory(prefix="slo-demo-") as tmp:
            cluster = shift_snapshot(snapshot, dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3))
            with FakeKubeAPI(cluster, namespaces=[stack.namespace]) as kube:
                env = {**os.environ, **stack.env(), "KUBECONFIG": str(kube.kubeconfig(Path(tmp) / "kubeconfig"))}
                env.pop("KUBERNETES_SERVICE_HOST", None)
                print(
                    f"  prometheus {stack.prometheus_url}  redis {stack.redis_url}  kubernetes {kube.url}", flush=True
                )
                code = _run(_pytest_command(out, args.site, args.pytest_args), env)
                verbs = sorted(kube.methods)
    except StackError as exc:
        print(f"pytest-slo demo: cannot start the local stack: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        code = INTERRUPTED
        verbs = []
    print("\npytest-slo demo: every process it started is stopped.")
    if verbs:
        print(f"  the Kubernetes API saw only {', '.join(verbs)} requests (read-only)")
    print(f"  findings:    {out / 'findings.json'}")
    print(f"  summary:     {out / 'findings.md'}")
    print(f"  SARIF:       {out / 'findings.sarif'}")
    drafts = sorted((out / "postmortems").glob("*.md")) if (out / "postmortems").is_dir() else []
    for draft in drafts[-1:]:
        print(f"  postmortem:  {draft}")
    if args.scenario == "incident" and code == 1:
        print("  The incident was caught: exit code 1 means checks failed, as they should here.")
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
