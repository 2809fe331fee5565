"""One meaning of ``--live-timeout``: the most a live item waits for its facts, for every source.

Each source is pointed at a server that accepts connections and never answers; every item
of that source errors with one line naming it, within the timeout (plus pytest's own
overhead), and the run goes on.
"""

from __future__ import annotations

import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import assert_counts

TIMEOUT = 1.0
SLACK = 1.5  # pytest's own work around an item's setup, on a busy 2-core machine


class Blackhole:
    """Accepts every connection, reads what it is sent, answers nothing (or, trickling, starts an
    HTTP answer and sends one more header line every 0.3 s: no single read ever times out)."""

    def __init__(self, trickle: bool = False) -> None:
        self.trickle = trickle
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self._held.append(conn)
            if self.trickle:
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(60):  # bounded: 18 s at most
                if self._stop.wait(0.3):
                    return
                conn.sendall(b"X-Slow: 1\r\n")
        except OSError:
            pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._held:
            conn.close()
        self.sock.close()


@pytest.fixture
def blackhole(mode: str) -> Iterator[Blackhole]:
    hole = Blackhole(trickle=mode == "trickle")
    yield hole
    hole.close()


def kubeconfig(path: Path, port: int) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: hole\n"
        f"clusters: [{{name: hole, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: hole, user: {token: not-a-secret}}]\n"
        "contexts: [{name: hole, context: {cluster: hole, user: hole}}]\n"
    )
    return path


PROMETHEUS = (
    "prometheus",
    "promql",
    5,
    "prometheus unavailable: no answer from http://127.0.0.1:{port}/api/v1/query within 1* s",
)
REDIS = ("redis", "redis", 3, "redis unavailable: no answer from 127.0.0.1:{port} within 1* s")
KUBE = (
    "kubernetes",
    "kube",
    14,
    "kubernetes unavailable: GET http://127.0.0.1:{port}/api/v1/namespaces/production/pods: no answer within 1* s",
)


@pytest.mark.parametrize(
    ("mode", "source", "marker", "count", "reason"),
    # a trickle is an HTTP server's slow answer; Redis is tried silent
    [("silent", *PROMETHEUS), ("silent", *REDIS), ("silent", *KUBE), ("trickle", *PROMETHEUS), ("trickle", *KUBE)],
)
def test_a_source_that_never_answers_ends_each_item_within_the_timeout(
    mode: str, source: str, marker: str, count: int, reason: str,
    blackhole: Blackhole, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
) -> None:
    hole = f"127.0.0.1:{blackhole.port}"
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(gitops / "kubeconfig", blackhole.port)))
    env = gitops / "sites/production/config.env"
    env.write_text(env.read_text() + "REDIS_CHECK_VIA=direct\n")
    result = pytester.runpytest(
        "--site", "production", "--live", "-m", f"{marker} or not live", f"--live-timeout={TIMEOUT}",
        f"--prometheus-url=http://{hole}", f"--redis-url=redis://{hole}", "--junitxml=junit.xml",
    )
    assert_counts(result, errors=count)
    text = result.stdout.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text
    # a silent server times out the request itself; a trickling one is stopped by the deadline
    expected = (
        reason.format(port=blackhole.port) if not blackhole.trickle else f"{source} unavailable: *no answer*within 1* s"
    )
    result.stdout.fnmatch_lines([expected])
    assert blackhole.accepted >= 1  # it was reached, and it hung
    cases = ET.parse(gitops / "junit.xml").iter("testcase")
    times = [float(c.get("time", "0")) for c in cases if c.find("error") is not None]
    assert len(times) == count
    assert max(times) < TIMEOUT + SLACK, times  # no item waits longer than --live-timeout
    if not blackhole.trickle:  # a silent server's timeout is one answer, which the others learn at once
        assert sum(times) < TIMEOUT + count * 0.5 + SLACK, times


def test_a_read_that_outlives_its_item_never_holds_up_the_next_and_threads_are_reused():
    """Each item's read runs on a reused daemon thread: one stuck past its item's deadline keeps
    its thread, the next read gets another, and a finished thread takes the read after."""
    from pytest_slo.sources._workers import Readers

    readers = Readers("test-read")
    release = threading.Event()
    stuck = readers.run(release.wait, 30)
    names: list[str] = []
    first = readers.run(lambda: names.append(threading.current_thread().name) or "answer")
    assert first.done.wait(5) and first.value == "answer" and first.error is None
    assert not stuck.done.is_set()  # still on its own thread
    for _ in range(3):
        call = readers.run(lambda: names.append(threading.current_thread().name))
        assert call.done.wait(5)
    assert len(set(names)) == 1 and names[0] != "test-read-1"  # the free thread, reused
    failing = readers.run(lambda: 1 / 0)
    assert failing.done.wait(5) and isinstance(failing.error, ZeroDivisionError)
    release.set()
    assert stuck.done.wait(5) and stuck.value is True
    readers.close()
