#!/usr/bin/env python3
"""Write a synthetic GitOps repository of the reference layout's shape, for benchmarks.

    python benchmarks/make_repo.py --sites 100 --apps 10 --out /tmp/bench-repo

The release (config schema, render CLI), the values templates and schemas, the check
catalog and its runbooks are the reference ones at the repository root. ``--apps M`` clones
the two reference apps (redis-cluster, api-server) under new names, alternating, and widens
the catalog's ``apps:`` lists so an app-specific check applies to every clone of its app.
Sites get varied values (memory sizes, replica counts, policies, SLOs); values.yaml files
are rendered with pytest-slo's own render code, so they are in sync unless planted.

Planted failures (one site each, spread over the site list):
  noeviction    REDIS_EVICTION_POLICY=noeviction  -> redis-eviction-policy, per redis app
  out-of-sync   one committed values.yaml edited  -> values-in-sync of that file
  bad-quantity  REDIS_MEMORY_LIMIT=2GB (invalid)   -> config-schema, and per redis app
                redis-memory-limit, redis-maxmemory-headroom and values-schema

``--promql K`` adds ``checks/bench-promql.yaml``: K promql checks with distinct queries over
the series of ``teststack.Stack`` (redis_exporter and the API histogram).
A ``bench-manifest.json`` at the root records the apps, sites and planted findings.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout: the render code is the repo's own

from pytest_slo.repo.envfile import parse_env  # noqa: E402
from pytest_slo.repo.site import Release  # noqa: E402

RELEASE = "1.15"
BASE_APPS = ("redis-cluster", "api-server")
MEMORY = ("512Mi", "1Gi", "2Gi", "4Gi", "8Gi")
POLICIES = ("allkeys-lru", "allkeys-lfu", "volatile-lru", "allkeys-lru")
PLANTS = ("bad-quantity", "noeviction", "out-of-sync")


def app_names(count: int) -> dict[str, str]:
    """App name -> the reference app it clones; the two reference names come first."""
    apps: dict[str, str] = {}
    for i in range(count):
        base = BASE_APPS[i % 2]
        apps[base if i < 2 else f"{base}-{i // 2 + 1:02d}"] = base
    return apps


def plant_sites(sites: list[str]) -> dict[str, str]:
    """Plant -> site: spread out so they do not share a site (needs 3 sites or more)."""
    n = len(sites)
    return {plant: sites[(n * (2 * k + 1)) // 6] for k, plant in enumerate(PLANTS)}


def _mebibytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


def site_env(name: str, rng: random.Random, plant: str | None) -> str:
    """A config.env in the reference layout's style, with varied values."""
    limit = rng.choice(MEMORY)
    request = rng.choice([m for m in MEMORY if _mebibytes(m) <= _mebibytes(limit)])
    maxmemory = f"{_mebibytes(limit) * rng.choice((50, 60, 70, 75)) // 100}mb"
    policy = "noeviction" if plant == "noeviction" else rng.choice(POLICIES)
    if plant == "bad-quantity":
        limit = "2GB"  # Kubernetes writes 2Gi or 2G; 2GB is Redis syntax
    api_limit = rng.choice(MEMORY[:3])
    lines = [
        f"# Site: {name}. Synthetic (benchmarks/make_repo.py): the values under sites/{name}/apps/",
        "# are rendered from this file (releases/$RELEASE/render_values.py).",
        f"RELEASE={RELEASE}",
        f"KUBE_NAMESPACE={name}",
        "PROMETHEUS_URL=http://prometheus-operated.monitoring.svc:9090",
        "",
        "# Redis cache",
        "REDIS_ROLE=cache",
        f"REDIS_REPLICAS={rng.randint(1, 5)}",
        f"REDIS_IMAGE_TAG=7.0.{rng.randint(10, 15)}",
        f"REDIS_ADDR=redis-cluster.{name}.svc:6379",
        f"REDIS_MEMORY_REQUEST={request}",
        f"REDIS_MEMORY_LIMIT={limit}  # sized for this site's traffic",
        f"REDIS_CPU_REQUEST={rng.choice((100, 250, 500))}m",
        f"REDIS_CPU_LIMIT={rng.choice(('500m', '1', '2'))}",
        f"REDIS_MAXMEMORY={maxmemory}",
        f"REDIS_EVICTION_POLICY={policy}",
        f"REDIS_MAXMEMORY_SAMPLES={rng.randint(3, 10)}",
        "",
        "# API server",
        f"API_REPLICAS={rng.randint(1, 8)}",
        f"API_IMAGE_TAG=3.4.{rng.randint(0, 9)}",
        f"API_MEMORY_REQUEST={rng.choice([m for m in MEMORY[:3] if _mebibytes(m) <= _mebibytes(api_limit)])}",
        f"API_MEMORY_LIMIT={api_limit}",
        f"API_CPU_REQUEST={rng.choice((100, 250))}m",
        f"API_CPU_LIMIT={rng.choice(('1', '2'))}",
        "",
        "# Service level objectives",
        f"SLO_API_LATENCY_P99_MS={rng.choice((250, 300, 500, 800))}",
        f"SLO_API_ERROR_RATE_PERCENT={rng.choice(('0.1', '0.5', '1'))}",
        f"SLO_WINDOW={rng.choice(('5m', '10m'))}",
    ]
    return "\n".join(lines) + "\n"


def write_release(out: Path, apps: dict[str, str]) -> None:
    """The reference release with every clone's template and schema under its own name."""
    src, dst = ROOT / "releases" / RELEASE, out / "releases" / RELEASE
    (dst / "apps").mkdir(parents=True)
    for name in ("config.schema.json", "render_values.py"):
        shutil.copy2(src / name, dst / name)
    for app, base in apps.items():
        (dst / "apps" / app).mkdir()
        template = (src / "apps" / base / "values.yaml.j2").read_text(encoding="utf-8")
        template = template.replace(f"nameOverride: {base}\n", f"nameOverride: {app}\n")
        (dst / "apps" / app / "values.yaml.j2").write_text(template, encoding="utf-8")
        schema = json.loads((src / "apps" / base / "values.schema.json").read_text(encoding="utf-8"))
        schema["title"] = f"{app} Helm values (release {RELEASE})"
        (dst / "apps" / app / "values.schema.json").write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")


def write_catalog(out: Path, apps: dict[str, str]) -> None:
    """The reference catalog, ``apps: [redis-cluster]`` widened to every redis clone."""
    shutil.copytree(ROOT / "checks" / "runbooks", out / "checks" / "runbooks")
    for path in sorted((ROOT / "checks").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        for base in BASE_APPS:
            clones = ", ".join(a for a, b in apps.items() if b == base)
            # a catalog naming an app absent from this repo keeps naming it (applies to nothing)
            text = text.replace(f"apps: [{base}]", f"apps: [{clones or base}]")
        (out / "checks" / path.name).write_text(text, encoding="utf-8")


PROMQL_SHAPES: tuple[tuple[str, str, str], ...] = (
    # (app, query with {w} minutes of window, unit); every one returns data on Stack's series
    ("redis-cluster", "avg_over_time(redis_memory_used_bytes{ {{ selector }} }[{w}m]) / 1048576", " MiB"),
    ("redis-cluster", "max_over_time(redis_memory_max_bytes{ {{ selector }} }[{w}m]) / 1048576", " MiB"),
    ("api-server", "sum(rate(http_requests_total{ {{ selector }} }[{w}m]))", " req/s"),
    (
        "api-server",
        "1000 * histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{ {{ selector }} "
        "}[{w}m])))",
        " ms",
    ),
)


def write_promql(out: Path, count: int) -> list[str]:
    """``count`` promql checks with distinct queries (shape x window); returns their ids."""
    lines = ["# Synthetic promql checks for the live benchmark (benchmarks/make_repo.py).", "checks:"]
    ids = []
    for i in range(count):
        app, query, unit = PROMQL_SHAPES[i % len(PROMQL_SHAPES)]
        window = 2 + i // len(PROMQL_SHAPES)  # distinct per shape: 2m, 3m, ...
        check_id = f"bench-promql-{i:03d}"
        ids.append(check_id)
        lines += [
            f"  - id: {check_id}",
            f"    title: synthetic live check {i} over {window}m",
            "    kind: promql",
            f"    apps: [{app}]",
            "    query: " + json.dumps(query.replace("{w}", str(window))),
            '    op: ">="',
            "    threshold: 0",
            f"    unit: {json.dumps(unit)}",
            "    no_data: skip",
            "    severity: P4",
            "    runbook: checks/runbooks/slo.md#slo-latency-p99",
        ]
    (out / "checks" / "bench-promql.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def make_repo(out: Path, sites: int, apps: int, *, seed: int = 1, promql: int = 0,
              site_names: list[str] | None = None) -> dict[str, Any]:
    """Write the repository into ``out`` (must not exist, or be empty); returns the manifest."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} exists and is not empty")
    names = site_names or [f"site-{i:03d}" for i in range(sites)]
    app_map = app_names(apps)
    plants = plant_sites(names) if len(names) >= 3 else {}
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # rootdir is the repo
    write_release(out, app_map)
    write_catalog(out, app_map)
    promql_ids = write_promql(out, promql) if promql else []
    release = Release(out / "releases" / RELEASE, f"releases/{RELEASE}")
    by_site = {site: plant for plant, site in plants.items()}
    for site in names:
        env_text = site_env(site, rng, by_site.get(site))
        env_path = out / "sites" / site / "config.env"
        env_path.parent.mkdir(parents=True)
        env_path.write_text(env_text, encoding="utf-8")
        env = parse_env(env_text, f"sites/{site}/config.env")
        for app in app_map:
            text = release.render(env, site=site, app=app)
            if by_site.get(site) == "out-of-sync" and app == BASE_APPS[0]:
                # hand-edited instead of re-rendered: the committed file disagrees with config.env
                text = re.sub(r"(?m)^replicaCount: \d+$", "replicaCount: 12", text)
            path = out / "sites" / site / "apps" / app / "values.yaml"
            path.parent.mkdir(parents=True)
            path.write_text(text, encoding="utf-8")
    manifest = {
        "sites": names,
        "apps": app_map,
        "plants": plants,
        "expected_findings": expected_findings(plants, app_map),
        "expected_errors": expected_errors(plants, app_map),
        "promql_checks": promql_ids,
        "expected_items": expected_items(out / "checks", list(app_map), len(names)),
    }
    (out / "bench-manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def expected_items(checks_dir: Path, apps: list[str], sites: int) -> int:
    """How many items the gate collects: per site, one per site-wide check and one per
    (check, app) it applies to, the built-in checks included; per catalog file, ``catalog``
    and ``runbook-links``."""
    import yaml

    from pytest_slo.catalog.model import BUILTIN_CATALOG

    files = sorted(checks_dir.glob("*.yaml"))
    per_site = 0
    for path in [BUILTIN_CATALOG, *files]:
        for check in yaml.safe_load(path.read_text(encoding="utf-8"))["checks"]:
            if "apps" in check:
                per_site += len(set(check["apps"]) & set(apps))
            elif check["kind"] == "config" or check.get("test") == "orphans":  # site-wide
                per_site += 1
            else:  # every other kind is per app
                per_site += len(apps)
    return sites * per_site + 2 * len(files)


def expected_findings(plants: dict[str, str], apps: dict[str, str]) -> list[list[Any]]:
    """(check, site, app) of every finding the planted failures must produce, sorted."""
    redis_apps = [a for a, b in apps.items() if b == BASE_APPS[0]]
    found: list[tuple[str, str, str | None]] = []
    if "noeviction" in plants:
        found += [("redis-eviction-policy", plants["noeviction"], a) for a in redis_apps]
    if "out-of-sync" in plants and BASE_APPS[0] in apps:
        found.append(("values-in-sync", plants["out-of-sync"], BASE_APPS[0]))
    if "bad-quantity" in plants:
        site = plants["bad-quantity"]
        found.append(("config-schema", site, None))
        for check in ("redis-memory-limit", "redis-maxmemory-headroom", "values-schema"):
            found += [(check, site, a) for a in redis_apps]
    return [list(f) for f in sorted(found, key=lambda f: (f[0], f[1], f[2] or ""))]


#: Where REDIS_MEMORY_LIMIT=2GB is planted these checks cannot judge their expression: their
#: items *error* (config-schema is the one that fails, saying what is wrong with the value).
UNJUDGEABLE = ("redis-memory-limit", "redis-maxmemory-headroom")


def expected_errors(plants: dict[str, str], apps: dict[str, str]) -> list[list[Any]]:
    """The planted findings whose items error rather than fail, sorted like expected_findings."""
    site = plants.get("bad-quantity")
    return [f for f in expected_findings(plants, apps) if f[1] == site and f[0] in UNJUDGEABLE]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=10, help="number of sites (3 or more to plant failures)")
    parser.add_argument("--apps", type=int, default=2, help="number of apps (clones of redis-cluster and api-server)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the repository (new or empty folder)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the varied values")
    parser.add_argument("--promql", type=int, default=0, help="add this many synthetic promql checks")
    parser.add_argument("--site-name", action="append", help="explicit site names (repeatable) instead of site-NNN")
    args = parser.parse_args(argv)
    if args.sites < 1 or args.apps < 1:
        parser.error("--sites and --apps must be at least 1")
    manifest = make_repo(args.out, args.sites, args.apps, seed=args.seed, promql=args.promql, site_names=args.site_name)
    print(f"wrote {len(manifest['sites'])} sites x {len(manifest['apps'])} apps to {args.out} "
          f"({len(manifest['expected_findings'])} planted findings, {len(manifest['promql_checks'])} promql checks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
