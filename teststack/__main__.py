"""``python -m teststack [--scenario incident|fixed] [--print-env] [-- CMD ...]``

Without a command: start the stack, print its URLs (to stderr; with ``--print-env`` also
``KEY=value`` lines on stdout, for ``eval``) and run until Ctrl-C. With a command after
``--``: run it with ``SLO_PROMETHEUS_URL``, ``SLO_REDIS_URL`` and ``SLO_REDIS_PASSWORD``
set, stop the stack, and exit with the command's code.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Sequence

from teststack.scenario import SCENARIOS, Scenario, Stack
from teststack.servers import StackError

__all__ = ["main", "run_with_stack"]

EXIT_STACK_ERROR = 3
EXIT_INTERRUPTED = 130


def _describe(stack: Stack) -> str:
    lines = [
        f"pytest-slo local stack, scenario {stack.scenario.name!r} "
        f"(started in {stack.startup_seconds:.1f} s, files in {stack.workdir})",
        f"  prometheus      {stack.prometheus_url}",
        f"  redis           {stack.redis_url}"
        + ("  (password in SLO_REDIS_PASSWORD)" if stack.redis_password else ""),
        f"  redis exporter  {stack.exporter_url}",
        f"  api metrics     {stack.api_metrics_url}",
    ]
    if stack.breach_started_at is not None:
        lines.append(f"  SLO breach since {stack.breach_started_at} (epoch seconds)")
    return "\n".join(lines)


def _env_block(stack: Stack) -> str:
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in stack.env().items())


def _reap(child: subprocess.Popen[bytes]) -> None:
    # The child shares our process group, so a Ctrl-C reached it too: give it a moment to
    # finish (pytest writes its summary), then insist, before the stack goes away under it.
    for insist in (None, child.terminate, child.kill):
        if insist is not None:
            insist()
        try:
            child.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def run_with_stack(scenario: str | Scenario, command: list[str]) -> int:
    """Run ``command`` against a fresh stack; its exit code (130 on Ctrl-C, 127 not found).

    A stack that cannot start raises :class:`StackError`; every server is stopped either way.
    """
    try:
        with Stack(scenario) as stack:
            print(_describe(stack), file=sys.stderr, flush=True)
            try:
                child = subprocess.Popen(command, env={**os.environ, **stack.env()})
            except OSError as exc:
                print(f"error: cannot run {shlex.join(command)}: {exc}", file=sys.stderr)
                return 127
            try:
                return child.wait()
            except BaseException:
                _reap(child)
                raise
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _serve(scenario: str, print_env: bool) -> None:
    with Stack(scenario) as stack:
        print(_describe(stack), file=sys.stderr)
        if print_env:
            sys.stdout.write(_env_block(stack))
            sys.stdout.flush()
        print("Running; Ctrl-C stops every server.", file=sys.stderr, flush=True)
        threading.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[args.index("--") + 1:] if "--" in args else []
    options = args[:args.index("--")] if "--" in args else args
    parser = argparse.ArgumentParser(
        prog="python -m teststack",
        description="Start Redis, redis_exporter and Prometheus on loopback ports with the "
                    "incident's history, until Ctrl-C or until COMMAND exits.",
        usage="%(prog)s [--scenario {incident,fixed}] [--print-env] [-- COMMAND ...]")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="incident")
    parser.add_argument("--print-env", action="store_true",
                        help="print SLO_* KEY=value lines on stdout once ready")
    parsed = parser.parse_args(options)
    if "--" in args and not command:
        parser.error("no command after --")
    try:
        if command:
            return run_with_stack(parsed.scenario, command)
        _serve(parsed.scenario, parsed.print_env)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STACK_ERROR
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
