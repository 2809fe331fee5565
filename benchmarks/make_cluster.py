#!/usr/bin/env python3
"""Write a large namespace for the loopback Kubernetes API: thousands of pods of a synthetic repo's apps.

    python benchmarks/make_cluster.py --repo /tmp/bench-repo --pods 5000 --out cluster.json
    python -m teststack.kubeapi cluster.json        # serve it

A ``v1 List`` (what ``kubectl get pods,deployments,statefulsets -o json`` writes) for one site
of a repository written by ``make_repo.py``: every app gets its workload (a StatefulSet for a
clone of redis-cluster, a Deployment for a clone of api-server) and ``pods / apps`` pods,
cloned from the objects of ``examples/snapshots/incident.json`` (a real-shaped dump: probes,
volumes, owner references, conditions, container statuses), with their own names, uids, IPs,
nodes and container ids. The image tag and resources of every workload and pod are the
app's rendered ``values.yaml``, so drift checks pass; times are moved so that the dump's
newest moment is now.

Planted, as in the incident, in the first redis app and the first api app only: the
incident's crash-looping and OOM-killed pods (so a run finds them among thousands) and a
workload one replica short.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import random
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from teststack.kubeapi import shift_snapshot  # noqa: E402

INCIDENT = ROOT / "examples" / "snapshots" / "incident.json"
# per reference app: the workload, a healthy pod, and the incident's unhealthy pods (planted once)
SHAPES = {
    "redis-cluster": ("StatefulSet", "redis-cluster", "redis-cluster-0", ("redis-cluster-2", "redis-cluster-1")),
    "api-server": ("Deployment", "api-server", "api-server-6b7f9c8d4-9hzvw",
                   ("api-server-6b7f9c8d4-tq5ln", "api-server-6b7f9c8d4-2xkqp")),
}
NODES = 120  # ~40 pods a node
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated name suffixes


def _objects(now: dt.datetime) -> dict[str, dict[str, Any]]:
    """The incident's objects by name, their times moved so that the newest one is ``now``."""
    return {item["metadata"]["name"]: item for item in shift_snapshot(INCIDENT, now)["items"]}


def _rename(obj: dict[str, Any], base: str, app: str) -> dict[str, Any]:
    """A deep copy naming ``app`` wherever the reference app's name appears (labels, owners, env)."""
    text = json.dumps(obj)
    return json.loads(text if app == base else text.replace(base, app))  # type: ignore[no-any-return]


def _suffix(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(n))


def _pin(containers: list[dict[str, Any]], values: Mapping[str, Any]) -> None:
    """The first container runs what the values declare (drift checks compare the first)."""
    image = values.get("image") or {}
    first = containers[0]
    first["image"] = f"{image.get('repository', first['image'].rsplit(':', 1)[0])}:{image.get('tag', 'latest')}"
    if values.get("resources"):
        first["resources"] = copy.deepcopy(values["resources"])


def _pod(template: dict[str, Any], name: str, index: int, owner_uid: str, values: Mapping[str, Any],
         rng: random.Random) -> dict[str, Any]:
    pod = copy.deepcopy(template)
    meta, spec, status = pod["metadata"], pod["spec"], pod["status"]
    meta["name"], meta["uid"] = name, str(uuid.UUID(int=rng.getrandbits(128), version=4))
    meta["resourceVersion"] = str(48_000_000 + rng.randrange(200_000))
    labels = meta.setdefault("labels", {})
    if "statefulset.kubernetes.io/pod-name" in labels:
        labels["statefulset.kubernetes.io/pod-name"], labels["apps.kubernetes.io/pod-index"] = name, str(index)
    for owner in meta.get("ownerReferences") or []:
        owner["uid"] = owner_uid
    for volume in spec.get("volumes") or []:
        if volume["name"].startswith("kube-api-access-"):
            volume["name"] = f"kube-api-access-{_suffix(rng, 5)}"
    node = rng.randrange(NODES)
    spec["nodeName"] = f"ip-10-0-{node // 8}-{node % 8 + 10}.eu-west-1.compute.internal"
    status["hostIP"] = f"10.0.{node // 8}.{node % 8 + 10}"
    status["hostIPs"] = [{"ip": status["hostIP"]}]
    status["podIP"] = f"10.42.{node}.{index % 250 + 2}"
    status["podIPs"] = [{"ip": status["podIP"]}]
    _pin(spec["containers"], values)
    main = spec["containers"][0]
    for cs in status.get("containerStatuses") or []:
        cs["containerID"] = f"containerd://{rng.getrandbits(256):064x}"
        if cs["name"] == main["name"]:
            cs["image"] = main["image"]
    return pod


def make_cluster(repo: Path, site: str, pods: int, *, seed: int = 1, now: dt.datetime | None = None) -> dict[str, Any]:
    """The ``v1 List`` of the site's namespace: ``pods`` pods spread over the repo's apps."""
    manifest = json.loads((repo / "bench-manifest.json").read_text(encoding="utf-8"))
    apps: dict[str, str] = manifest["apps"]
    import yaml

    namespace = site  # make_repo writes KUBE_NAMESPACE=<site>
    shapes = _objects((now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(minutes=2))
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    planted: set[str] = set()  # reference apps whose first clone got the incident's pods
    for n, (app, base) in enumerate(apps.items()):
        count = pods // len(apps) + (n < pods % len(apps))
        values = yaml.safe_load((repo / "sites" / site / "apps" / app / "values.yaml").read_text(encoding="utf-8"))
        kind, workload_name, healthy, sick = SHAPES[base]
        # the first app of each reference app: pod 2 crash-loops (not ready), pod 1 recovered
        plant = {2: sick[0], 1: sick[1]} if base not in planted and count > 2 else {}
        planted.add(base)
        workload = _rename(shapes[workload_name], base, app)
        workload["metadata"]["uid"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        workload["spec"]["replicas"] = count
        _pin(workload["spec"]["template"]["spec"]["containers"], values)
        ready = count - (1 if plant else 0)
        workload["status"].update(replicas=count, readyReplicas=ready, availableReplicas=ready, updatedReplicas=count)
        if kind == "StatefulSet":
            workload["status"]["currentReplicas"] = count
        else:
            workload["status"]["unavailableReplicas"] = count - ready
        items.append(workload)
        hash_ = _suffix(rng, 9)  # a Deployment's pods belong to its ReplicaSet
        owner_uid = (
            workload["metadata"]["uid"]
            if kind == "StatefulSet"
            else str(uuid.UUID(int=rng.getrandbits(128), version=4))
        )
        templates: dict[str, dict[str, Any]] = {}
        for i in range(count):
            source = plant.get(i, healthy)
            if source not in templates:
                templates[source] = template = _rename(shapes[source], base, app)
                if kind == "Deployment":
                    template["metadata"]["generateName"] = f"{app}-{hash_}-"
                    template["metadata"]["labels"]["pod-template-hash"] = hash_
                    for owner in template["metadata"]["ownerReferences"]:
                        owner["name"] = f"{app}-{hash_}"
            name = f"{app}-{i}" if kind == "StatefulSet" else f"{app}-{hash_}-{_suffix(rng, 5)}"
            items.append(_pod(templates[source], name, i, owner_uid, values, rng))
    for item in items:
        item["metadata"]["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="a repository written by make_repo.py")
    parser.add_argument("--site", default=None, help="the site whose namespace to write (default: the repo's first)")
    parser.add_argument("--pods", type=int, default=5000, help="pods in the namespace, spread over the apps")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help="the v1 List JSON to write")
    args = parser.parse_args(argv)
    site = args.site or json.loads((args.repo / "bench-manifest.json").read_text(encoding="utf-8"))["sites"][0]
    cluster = make_cluster(args.repo, site, args.pods, seed=args.seed)
    args.out.write_text(json.dumps(cluster) + "\n", encoding="utf-8")
    kinds: dict[str, int] = {}
    for item in cluster["items"]:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
    print(f"wrote {args.out}: namespace {site}, " + ", ".join(f"{n} {k}s" for k, n in sorted(kinds.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
