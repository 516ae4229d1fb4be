"""Shared fixtures: real ``tests.qdrant_peer`` processes for integration tests.

Fixtures (see tests/peer/peerlib.py for the classes):

- ``peer_factory`` (function scope) / ``module_peer_factory`` (module scope): call
  ``factory(config: dict | None = None, env: dict | None = None, *, name=None, args=(),
  ca_path=None, client_cert=None, start=True, wait=True, timeout=10.0)`` -> ``PeerProcess``;
  ``factory.many(n, config, **kw)`` -> list of started peers.  Every process is torn down at
  the end of the scope, even on failures; peer logs are attached to failing test reports.
- ``request_stream`` (function scope): ``request_stream(url, headers, **kw)`` -> a started
  ``RequestStream`` that is stopped at teardown.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peer.peerlib import LIVE_PEERS, PeerFactory, RequestStream

# A suite started as a background job of a non-interactive shell (``cmd &``, nohup) inherits
# SIGINT ignored, and so would every qdrantsec child: Python then installs no Ctrl-C handler,
# and the tests that send SIGINT to a child (audit tail -f, rotate-key, the error boundary)
# would wait for nothing. A handler here is reset to the default in each exec'ed child.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and LIVE_PEERS:
        text = "\n".join(p.logs()[-20000:] for p in list(LIVE_PEERS))
        report.sections.append(("qdrant_peer logs", text))


@pytest.fixture
def peer_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerFactory]:
    factory = PeerFactory(lambda name: tmp_path_factory.mktemp(name))
    try:
        yield factory
    finally:
        factory.teardown()


@pytest.fixture(scope="module")
def module_peer_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerFactory]:
    factory = PeerFactory(lambda name: tmp_path_factory.mktemp(name))
    try:
        yield factory
    finally:
        factory.teardown()


@pytest.fixture
def request_stream() -> Iterator[Callable[..., RequestStream]]:
    streams: list[RequestStream] = []

    def make(url: str, headers: Any = None, **kwargs: Any) -> RequestStream:
        stream = RequestStream(url, headers, **kwargs).start()
        streams.append(stream)
        return stream

    try:
        yield make
    finally:
        for s in streams:
            s.stop()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
