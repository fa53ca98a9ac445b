"""Fixtures: one in-process stand-in per test module, reset before every test."""

import pytest

from standin import server as standin_server
from standin import testing


@pytest.fixture(scope="module")
def standin():
    srv = standin_server.start_in_thread()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def url(standin):
    testing.control(standin.url, "POST", "/_standin/reset")
    return standin.url


@pytest.fixture
def recorded(url):
    """Callable returning the recorded requests."""
    return lambda: testing.control(url, "GET", "/_standin/requests")[1]
