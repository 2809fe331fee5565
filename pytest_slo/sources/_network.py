"""Why a connection failed, said the same way for every source.

Each client library wraps the operating system's error its own way (requests in urllib3 in
``socket.gaierror``, redis-py in its ``ConnectionError``, the kubernetes client in urllib3's
``MaxRetryError``): :func:`exception_chain` walks every wrapper (``__cause__``,
``__context__``, exceptions in ``args`` and a ``reason`` attribute), and :func:`network_reason`
turns what it finds into the one-line reasons every source's errors use:

    cannot connect to ADDRESS: connection refused
    cannot connect to ADDRESS: host HOST does not resolve
    cannot connect to ADDRESS: host unreachable | network unreachable
    ADDRESS closed the connection without an answer

A source checks what only it knows first (its timeouts, its TLS settings) and falls back here.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

from ._text import one_line

__all__ = ["dropped", "exception_chain", "network_reason"]

# what resolvers and libraries say when a name does not resolve, for wrappers that kept only text
_UNRESOLVED = ("name or service not known", "nodename nor servname", "failure in name resolution", "name resolution")
_DROPPED = ("remotedisconnected", "connection aborted", "connection reset", "closed by server", "broken pipe")


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps, each once, outermost first."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [getattr(current, "reason", None), current.__cause__, current.__context__]
        todo += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]


def dropped(exc: BaseException) -> bool:
    """Whether the peer closed or reset the connection."""
    chain = list(exception_chain(exc))
    return any(isinstance(e, (ConnectionResetError, BrokenPipeError)) for e in chain) or any(
        m in str(e).lower() for e in chain for m in _DROPPED
    )


def network_reason(exc: BaseException, address: str, host: str) -> str:
    """One line on why ``address`` (what the person configured) could not be reached."""
    chain = list(exception_chain(exc))
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in text:
        return f"cannot connect to {address}: connection refused"
    if any(isinstance(e, socket.gaierror) for e in chain) or any(m in text for m in _UNRESOLVED):
        return f"cannot connect to {address}: host {host} does not resolve"
    for e in chain:
        if isinstance(e, OSError) and e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f"cannot connect to {address}: {'host' if e.errno == errno.EHOSTUNREACH else 'network'} unreachable"
    if dropped(exc):
        return f"{address} closed the connection without an answer"
    last = chain[-1]
    return f"cannot connect to {address}: {one_line(str(last) or type(last).__name__, 160)}"
