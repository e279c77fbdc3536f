"""Per-endpoint shared state: bounded, keyed, emptied in forked children."""

from __future__ import annotations

import os
import warnings

import pytest

from resilient_cloud._registry import REGISTRY, Endpoint, Key, Registry


def test_same_key_same_state_and_bounded_size() -> None:
    registry = Registry(maxsize=3)
    first = registry.get(Key("budget", 1), object)
    assert registry.get(Key("budget", 1), object) is first
    for i in range(10):
        registry.get(Key("budget", i), object)
    assert len(registry) == 3


def test_endpoint_from_url() -> None:
    endpoint = Endpoint.from_url("aws", "dynamodb", "us-east-1", "https://dynamodb.us-east-1.amazonaws.com")
    assert endpoint.host == "dynamodb.us-east-1.amazonaws.com"
    assert str(endpoint) == "dynamodb.us-east-1 (dynamodb.us-east-1.amazonaws.com)"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_starts_with_empty_state() -> None:
    REGISTRY.get(Key("budget", "parent"), object)
    assert len(REGISTRY) == 1
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a multi-threaded process.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # child: report through the exit code only
        os._exit(0 if len(REGISTRY) == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(REGISTRY) == 1  # the parent keeps its own
