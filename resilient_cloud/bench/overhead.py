"""Per-call cost with no network: plain botocore vs resilient_cloud, and
plain aiobotocore vs ``rc.aio``.

Both clients answer from the same canned response through botocore's
before-send event, so everything but the HTTP exchange runs. Time is the
calling thread's CPU time (``time.thread_time``), which other processes on a
shared machine do not inflate; short rounds alternate between the two
clients and the figure is the median of the per-round ratios. The asyncio
pair runs on one event loop in this thread, calls awaited one after the
other: with canned answers nothing waits, so the loop thread's CPU time is
the calls' cost (the event loop's own share included, alike for both).
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AsyncExitStack
from typing import Any

import boto3

import resilient_cloud as rc
from resilient_cloud.bench.stats import median
from resilient_cloud.testing import Reply, ScriptedResponses

ROUNDS = 40
ITEM = Reply(200, json.dumps({"Item": {"pk": {"S": "item-1"}}}).encode())


def _client(resilient: bool) -> Any:
    session = rc.Session() if resilient else boto3.session.Session()
    client = session.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench"
    )
    ScriptedResponses(client, [], then=ITEM)
    return client


def _time_calls(client: Any, calls: int) -> float:
    key = {"pk": {"S": "item-1"}}
    start = time.thread_time()
    for _ in range(calls):
        client.get_item(TableName="bench", Key=key)
    return time.thread_time() - start


def measure(calls: int) -> dict[str, Any]:
    plain, resilient = _client(False), _client(True)
    per_round = max(1, calls // ROUNDS)
    _time_calls(plain, 50), _time_calls(resilient, 50)  # warm caches
    plain_times, resilient_times = [], []
    for _ in range(ROUNDS):
        plain_times.append(_time_calls(plain, per_round))
        resilient_times.append(_time_calls(resilient, per_round))
    return _summary(plain_times, resilient_times, per_round)


def _summary(plain_times: list[float], resilient_times: list[float], per_round: int) -> dict[str, Any]:
    """The interleaved rounds' figures: per-call medians and the median ratio."""
    ratios = [r / p for r, p in zip(resilient_times, plain_times)]
    return {
        "calls_per_subject": per_round * ROUNDS,
        "plain_us_per_call": 1e6 * median(plain_times) / per_round,  # type: ignore[operator]  # never empty
        "resilient_us_per_call": 1e6 * median(resilient_times) / per_round,  # type: ignore[operator]  # never empty
        "ratio": median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
    }


async def _time_calls_async(client: Any, calls: int) -> float:
    key = {"pk": {"S": "item-1"}}
    start = time.thread_time()
    for _ in range(calls):
        await client.get_item(TableName="bench", Key=key)
    return time.thread_time() - start


async def _measure_aio(calls: int) -> dict[str, Any]:
    from aiobotocore.session import get_session

    from resilient_cloud import aio

    async with AsyncExitStack() as stack:
        clients = []
        for session in (get_session(), aio.Session()):
            client = await stack.enter_async_context(session.create_client(
                "dynamodb", region_name="us-east-1",
                aws_access_key_id="bench", aws_secret_access_key="bench",
            ))
            ScriptedResponses(client, [], then=ITEM)
            clients.append(client)
        plain, resilient = clients
        per_round = max(1, calls // ROUNDS)
        await _time_calls_async(plain, 50), await _time_calls_async(resilient, 50)  # warm caches
        plain_times, resilient_times = [], []
        for _ in range(ROUNDS):
            plain_times.append(await _time_calls_async(plain, per_round))
            resilient_times.append(await _time_calls_async(resilient, per_round))
    return {
        "plain": "plain aiobotocore",
        "resilient": "rc.aio",
        **_summary(plain_times, resilient_times, per_round),
    }


def measure_aio(calls: int) -> dict[str, Any]:
    """:func:`measure` for asyncio: plain aiobotocore (botocore's default
    retry mode) vs ``rc.aio.Session()``'s client (defaults), on a fresh loop."""
    return asyncio.run(_measure_aio(calls))
