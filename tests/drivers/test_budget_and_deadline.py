"""Budgets shared per endpoint, and a deadline over the whole call."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
import tenacity
from botocore.exceptions import ClientError

import resilient_cloud as rc
from resilient_cloud.testing import FakeClock, ScriptedResponses

from .replies import DDB_500, DDB_ITEM, DDB_THROTTLE

KEY = {"pk": {"S": "1"}}


def fail_calls(client, calls: int) -> None:
    for _ in range(calls):
        with pytest.raises(ClientError):
            client.get_item(TableName="t", Key=KEY)


def test_budget_caps_amplification_in_a_total_outage(make_client) -> None:
    client = make_client(breaker=None)  # the budget alone
    script = ScriptedResponses(client, [], then=DDB_500)
    fail_calls(client, 200)
    # 200 first attempts earn 40 retries; the floor adds 10 per window; the
    # fake clock barely moves (backoff only), so this is one window.
    assert len(script) <= 200 * 1.2 + 10
    assert len(script) / 200 < 1.3


def test_budget_refusal_ends_with_the_real_error_annotated(make_client) -> None:
    client = make_client(budget=rc.RetryBudget(ratio=0.0, min_retries_per_second=0.0))
    ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(client.exceptions.InternalServerError) as caught:
        client.get_item(TableName="t", Key=KEY)
    assert rc.stop_details(caught.value).reason is rc.StopReason.BUDGET_EXHAUSTED
    assert rc.stop_details(caught.value).attempts == 1


def test_budget_is_shared_by_clients_of_one_endpoint(make_client) -> None:
    budget = rc.RetryBudget(ratio=0.0, min_retries_per_second=0.5, ttl=10.0)  # 5 retries
    clients = [make_client(budget=budget, breaker=None) for _ in range(5)]
    scripts = [ScriptedResponses(c, [], then=DDB_500) for c in clients]
    for client in clients:
        fail_calls(client, 2)
    assert sum(len(s) for s in scripts) == 10 + 5


def test_different_regions_and_options_do_not_share(make_client) -> None:
    budget = rc.RetryBudget(ratio=0.0, min_retries_per_second=0.1, ttl=10.0)  # 1 retry
    east = make_client(budget=budget)
    west = make_client(region="us-west-2", budget=budget)
    other_options = make_client(budget=rc.RetryBudget(ratio=0.0, min_retries_per_second=0.1, ttl=20.0))
    scripts = [ScriptedResponses(c, [], then=DDB_500) for c in (east, west, other_options)]
    for client in (east, west, other_options):
        fail_calls(client, 2)
    assert [len(s) for s in scripts] == [3, 3, 4]


def test_throttling_spends_more_budget(make_client) -> None:
    budget = rc.RetryBudget(ratio=0.0, min_retries_per_second=0.4, ttl=10.0, throttle_retry_cost=2.0)
    client = make_client(budget=budget, rate_limiter=None)  # no limiter: the budget pays
    script = ScriptedResponses(client, [], then=DDB_THROTTLE)
    fail_calls(client, 3)
    assert len(script) == 3 + 2  # 4 tokens buy 2 throttled retries


@pytest.mark.sync_only("calls from 16 threads; an aiobotocore client lives on one loop")
def test_budget_is_thread_safe_under_concurrent_callers(make_client) -> None:
    budget = rc.RetryBudget(ratio=0.0, min_retries_per_second=2.0, ttl=10.0)  # 20 retries
    client = make_client(budget=budget, retry=rc.Retry(wait=tenacity.wait_none()), breaker=None)
    script = ScriptedResponses(client, [], then=DDB_500)

    def call(_: int) -> None:
        with pytest.raises(ClientError):
            client.get_item(TableName="t", Key=KEY)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(call, range(64)))
    assert len(script) == 64 + 20


def test_budget_exhaustion_is_logged_once(make_client, caplog) -> None:
    client = make_client(budget=rc.RetryBudget(ratio=0.0, min_retries_per_second=0.1))
    ScriptedResponses(client, [], then=DDB_500)
    with caplog.at_level(logging.INFO, logger="resilient_cloud"):
        fail_calls(client, 5)
    empty = [r for r in caplog.records if "is empty" in r.getMessage()]
    assert len(empty) == 1 and empty[0].levelno == logging.WARNING


def test_no_backoff_sleeps_past_the_deadline(make_client, clock) -> None:
    client = make_client(deadline=1.0, retry=rc.Retry(wait=tenacity.wait_fixed(0.4)))
    script = ScriptedResponses(client, [], then=DDB_500)
    start = clock.monotonic()
    with pytest.raises(ClientError) as caught:
        client.get_item(TableName="t", Key=KEY)
    assert clock.sleeps == [0.4, 0.4]  # a third wait would end at 1.2 s
    assert clock.monotonic() - start <= 1.0
    assert len(script) == 3
    assert rc.stop_details(caught.value).reason is rc.StopReason.DEADLINE


def test_deadline_exceeded_error_when_no_request_could_be_sent(events) -> None:
    import random

    slow = FakeClock(tick=2.0)  # every clock read costs 2 s
    session = rc.Session(
        region_name="us-east-1",
        policy=rc.Policy(deadline=1.0, clock=slow, random=random.Random(1), hooks=(events.append,)),
    )
    client = session.client("dynamodb")
    script = ScriptedResponses(client, [DDB_ITEM])
    with pytest.raises(rc.DeadlineExceededError) as caught:
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == 0
    assert isinstance(caught.value, rc.ResilienceError)
    assert "dynamodb.GetItem in us-east-1" in str(caught.value)
    ended = events[-1]
    assert (ended.succeeded, ended.attempts, ended.reason) == (False, 0, rc.StopReason.DEADLINE)
