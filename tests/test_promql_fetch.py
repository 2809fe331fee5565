"""What a promql item asks Prometheus, and when: ``query_text``, ``fetch`` and the run's
``prefetch``, against the loopback fake of tests/test_prometheus_source.py (a threaded HTTP
server that answers what a test tells it and keeps every request). No Prometheus binary:
what is judged is which queries leave, at which time, and what comes back to the item."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_slo.catalog.model import Check
from pytest_slo.kinds import Target
from pytest_slo.kinds.promql import PromqlKind
from pytest_slo.repo.site import DEFAULT_VALUES_PATH, Repo
from pytest_slo.sources import LiveOptions, Sources
from tests.test_prometheus_source import Answer, FakePrometheus, Seen, vector

REPO = Path(__file__).resolve().parents[1]
SELECTOR = 'namespace="production", service="redis-cluster"'
EMPTY: dict[str, Any] = {"status": "success", "data": {"resultType": "vector", "result": []}}


def check(query: str = "up{ {{ selector }} }", **spec: Any) -> Check:
    return Check(
        id="t-check",
        title="the title",
        kind="promql",
        severity="P2",
        runbook="checks/runbooks/slo.md",
        source="checks/team.yaml",
        line=7,
        apps=("redis-cluster",),
        spec={"query": query, "op": "<=", "threshold": 1, **spec},
    )


@pytest.fixture
def fake() -> Iterator[FakePrometheus]:
    server = FakePrometheus()
    yield server
    server.stop()


@pytest.fixture
def target(fake: FakePrometheus) -> Target:
    sources = Sources(LiveOptions(prometheus_url=fake.url, timeout=5, retries=0))
    return Target(Repo(REPO, DEFAULT_VALUES_PATH).site("production"), "redis-cluster", sources)


def answers(by_query: dict[str, Answer | float]) -> Callable[[Seen], Answer]:
    """Reply to each instant query as told (a number: one label-less sample); anything else is empty."""
    def answer(seen: Seen) -> Answer:
        got = by_query.get((seen.params.get("query") or [""])[0], (200, {}, EMPTY))
        return got if isinstance(got, tuple) else (200, {}, vector(got))
    return answer


def queries(fake: FakePrometheus) -> list[str]:
    return [s.params["query"][0] for s in fake.seen if s.path == "/api/v1/query"]


def wait_for(fake: FakePrometheus, n: int) -> None:
    deadline = time.monotonic() + 5
    while len(fake.seen) < n:
        assert time.monotonic() < deadline, f"{len(fake.seen)} of {n} requests arrived"
        time.sleep(0.01)


# --------------------------------------------------------------------------- query_text


def test_the_query_is_rendered_for_the_site_and_sent_on_one_line(target: Target) -> None:
    c = check(
        "sum by (instance) (\n  redis_up{ {{ selector }} }\n)   * {{ REDIS_MAXMEMORY_SAMPLES }}\n# {{ namespace "
        "}} {{ app }} {{ site }}"
    )
    assert PromqlKind().query_text(c, target) == (
        f"sum by (instance) ( redis_up{{ {SELECTOR} }} ) * 5 # production redis-cluster production"
    )


def other_site(root: Path, name: str, edit: Callable[[str], str], sources: Sources) -> Target:
    """A site of a repository of its own whose config.env is the reference site's, edited."""
    (root / "sites" / name).mkdir(parents=True)
    if not (root / "releases").exists():
        (root / "releases").symlink_to(REPO / "releases")
    (root / "sites" / name / "config.env").write_text(edit((REPO / "sites/production/config.env").read_text()))
    return Target(Repo(root, DEFAULT_VALUES_PATH).site(name), "redis-cluster", sources)


def test_the_selector_follows_the_sites_prometheus_selector(tmp_path: Path, fake: FakePrometheus) -> None:
    def edit(env: str) -> str:
        return (
            env.replace("KUBE_NAMESPACE=production", "KUBE_NAMESPACE=shop")
            + 'PROMETHEUS_SELECTOR=kubernetes_namespace="{namespace}", app="{app}"\n'
        )

    target = other_site(tmp_path, "eu-1", edit, Sources(LiveOptions(prometheus_url=fake.url)))
    assert PromqlKind().query_text(check("up{ {{ selector }} } # {{ namespace }}"), target) == (
        'up{ kubernetes_namespace="shop", app="redis-cluster" } # shop'
    )
    # a site that does not say its namespace is in the namespace of its name
    bare = other_site(tmp_path, "eu-2", lambda env: env.replace("KUBE_NAMESPACE=production\n", ""), target.sources)
    assert (
        PromqlKind().query_text(check("up{ {{ selector }} } # {{ namespace }}"), bare)
        == 'up{ namespace="eu-2", service="redis-cluster" } # eu-2'
    )


def test_the_sites_own_prometheus_is_asked(tmp_path: Path, fake: FakePrometheus) -> None:
    """Without --prometheus-url, each site's queries go to its PROMETHEUS_URL."""
    def edit(env: str) -> str:
        return env.replace(
            "PROMETHEUS_URL=http://prometheus-operated.monitoring.svc:9090", f"PROMETHEUS_URL={fake.url}"
        )

    target = other_site(tmp_path, "eu-1", edit, Sources(LiveOptions(timeout=5, retries=0)))
    fake.answer = answers({'up{ namespace="production", service="redis-cluster" }': 3.0})
    kind = PromqlKind()
    kind.prefetch(target.sources, [(check(), target)])
    wait_for(fake, 1)
    assert [s.value for s in kind.fetch(check(), target).result.samples] == [3.0]
    assert len(fake.seen) == 1


# --------------------------------------------------------------------------- fetch


def test_fetch_asks_the_rendered_query_at_the_runs_evaluation_time(fake: FakePrometheus, target: Target) -> None:
    fake.answer = answers({f"up{{ {SELECTOR} }}": 1.0})
    facts = PromqlKind().fetch(check(), target)
    assert [(s.labels, s.value) for s in facts.result.samples] == [({}, 1.0)]
    assert facts.result.time == target.sources.eval_time and facts.diagnosis is None and facts.details == {}
    (seen,) = fake.seen  # no detail, no diagnosis: one request
    assert seen.params["query"] == [f"up{{ {SELECTOR} }}"] and float(seen.params["time"][0]) == target.sources.eval_time


@pytest.mark.parametrize(("no_data", "diagnosed"), [(None, True), ("fail", True), ("skip", False), ("pass", False)])
def test_an_empty_answer_is_diagnosed_only_when_it_fails_the_item(
    fake: FakePrometheus, target: Target, no_data: str | None, diagnosed: bool
) -> None:
    fake.answer = answers({})
    facts = PromqlKind().fetch(check(**({"no_data": no_data} if no_data else {})), target)
    assert facts.result.samples == ()
    if diagnosed:  # the diagnosis asks Prometheus more (does the metric exist at all?) and says what it found
        assert (
            facts.diagnosis
            == "no series: metric up does not exist in Prometheus (is it scraped? check the ServiceMonitor)"
        )
        assert "count(up)" in queries(fake)
    else:
        assert facts.diagnosis is None and len(fake.seen) == 1


def test_details_come_back_by_name_and_one_that_fails_is_left_out(fake: FakePrometheus, target: Target) -> None:
    bad = (400, {}, {"status": "error", "errorType": "bad_data", "error": "parse error"})
    fake.answer = answers({f"up{{ {SELECTOR} }}": 5.0, f"used{{ {SELECTOR} }}": 7.0, "broken(": bad})
    c = check(details={"used": "used{ {{ selector }} }", "broken": "broken("})
    facts = PromqlKind().fetch(c, target)
    assert sorted(facts.details) == ["used"]
    assert [s.value for s in facts.details["used"].samples] == [7.0]
    assert sorted(queries(fake)) == sorted([f"up{{ {SELECTOR} }}", f"used{{ {SELECTOR} }}", "broken("])


# --------------------------------------------------------------------------- prefetch


def test_prefetch_sends_every_query_once_before_the_items_ask(fake: FakePrometheus, target: Target) -> None:
    fake.answer = answers({f"up{{ {SELECTOR} }}": 1.0, f"a{{ {SELECTOR} }}": 2.0})
    kind = PromqlKind()
    first, second = check(details={"a": "a{ {{ selector }} }"}), check("a{ {{ selector }} }")
    kind.prefetch(target.sources, [(first, target), (second, target)])
    wait_for(fake, 2)
    time.sleep(0.1)
    assert sorted(queries(fake)) == sorted([f"up{{ {SELECTOR} }}", f"a{{ {SELECTOR} }}"])  # the shared query once
    assert {float(s.params["time"][0]) for s in fake.seen} == {target.sources.eval_time}
    assert [s.value for s in kind.fetch(second, target).result.samples] == [2.0]
    assert kind.fetch(first, target).details["a"].samples[0].value == 2.0
    assert len(fake.seen) == 2  # the items' reads were answered by what prefetch sent


def test_prefetch_passes_over_an_item_that_cannot_be_rendered(fake: FakePrometheus, target: Target) -> None:
    fake.answer = answers({})
    broken = check("up{ {{ selector }} } > {{ NOT_A_KEY }}")  # the item says it when it runs
    PromqlKind().prefetch(target.sources, [(broken, target), (check(), target)])
    wait_for(fake, 1)
    assert queries(fake) == [f"up{{ {SELECTOR} }}"]
