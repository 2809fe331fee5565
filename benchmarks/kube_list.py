#!/usr/bin/env python3
"""One LIST of a namespace's pods with the official kubernetes client, timed: the floor of the kube benchmark.

    python benchmarks/kube_list.py --kubeconfig KUBECONFIG --namespace production [--expect 5000]

Loads the kubeconfig and builds the client first (set-up, not timed), then times
``CoreV1Api.list_namespaced_pod`` from the request to the parsed JSON, the way pytest-slo
reads it (``_preload_content=False`` and ``json.loads``: the client's typed models would
cost seconds more for thousands of pods, and nobody needs them). Prints the number of pods,
then ``seconds: N`` last. Exits 1 if the count differs from ``--expect``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--expect", type=int, help="the number of pods the namespace must hold")
    args = parser.parse_args(argv)
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=args.kubeconfig, client_configuration=configuration, persist_config=False)
    api = client.CoreV1Api(client.ApiClient(configuration))
    start = time.perf_counter()
    response = api.list_namespaced_pod(args.namespace, _preload_content=False)
    items = json.loads(response.data)["items"]  # type: ignore[attr-defined]  # a raw urllib3 response
    seconds = time.perf_counter() - start
    print(f"{len(items)} pods in namespace {args.namespace}")
    print(f"seconds: {seconds:.6f}")
    return 1 if args.expect is not None and len(items) != args.expect else 0


if __name__ == "__main__":
    sys.exit(main())
