"""Regional fallback and hedged reads, end to end: real botocore clients,
one moto server per region, the same DynamoDB table in both regions.

Every test runs for the sync API (``rc.Session``, ``rc.wrap``) and the async
one (``rc.aio.Session``, ``rc.aio.wrap``; clients seen through
``tests.apis.SyncView``); observers (``tables``, ``items_in``) are plain boto3.

Each region's copy of the item says which region holds it, so a read shows
which region served it. Time for stickiness and failback is a FakeClock
(it also drives backoff sleeps and the router); only the hedging tests run
on the real clock, because hedges wait in real time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

import resilient_cloud as rc
from resilient_cloud._botocore.client import runtime_of
from resilient_cloud.fakecloud import FakeCloud, Faults
from resilient_cloud.testing import FakeClock

from ..apis import Clients, is_async, unwrapped
from ..recording import Events
from .helpers import create_table

pytestmark = pytest.mark.integration

PRIMARY, FALLBACK = "us-east-1", "us-west-2"
TABLE = "regional"
KEY = {"pk": {"S": "1"}}
# Real, short timeouts: no test waits on a dead peer for long.
CONFIG = Config(connect_timeout=1, read_timeout=2)


# -- fixtures and helpers --------------------------------------------------


@pytest.fixture
def tables(cloud: FakeCloud) -> FakeCloud:
    """The same table in both regions; item "1" names the region it lives in."""
    for region in (PRIMARY, FALLBACK):
        plain = boto3.client("dynamodb", region_name=region, use_ssl=False)
        create_table(plain, TABLE)
        plain.put_item(TableName=TABLE, Item={**KEY, "region": {"S": region}})
        plain.close()
    cloud.reset_stats()
    cloud.resolver().reset_lookups()
    return cloud


@pytest.fixture
def closing(clients: Clients) -> Iterator[Callable[[Any], Any]]:
    """Register a client to close at the end, with the fallback clients it
    built (an async client closes them itself when it is exited)."""
    made: list[Any] = []

    def register(client: Any) -> Any:
        made.append(client)
        return client

    yield register
    for client in made:
        if is_async(client):
            client.close()  # exits it: its fallback clients close with it
            continue
        runtime = runtime_of(client)
        if runtime is not None and runtime._fallback_clients is not None:
            for fallback in runtime._fallback_clients.built().values():
                fallback.close()
        client.close()


MakeSession = Callable[[rc.Policy], Any]


@pytest.fixture
def regional_session(clients: Clients) -> MakeSession:
    """``regional_session(policy)``: a session of the API under test whose
    clients live in the primary region."""

    def make(policy: rc.Policy) -> Any:
        return clients.session(region_name=PRIMARY, policy=policy)

    return make


def fake_policy(events: Events, clock: FakeClock | None = None, **fields: Any) -> rc.Policy:
    return rc.Policy(
        clock=clock if clock is not None else FakeClock(),
        random=random.Random(1),
        hooks=(events,),
        **fields,
    )


def regional_client(session: Any, closing: Callable[[Any], Any], **kwargs: Any) -> Any:
    kwargs.setdefault("config", CONFIG)
    kwargs.setdefault("use_ssl", False)
    return closing(session.client("dynamodb", fallback_regions=[FALLBACK], **kwargs))


def served_by(client: Any) -> str:
    """Read item "1": the region whose copy answered."""
    return str(client.get_item(TableName=TABLE, Key=KEY)["Item"]["region"]["S"])


def dynamodb_requests(cloud: FakeCloud, region: str) -> int:
    return int(cloud.stats(region)["by_service"].get("dynamodb", 0))


def attempt_regions(events: Events) -> list[str]:
    return [event.region for event in events.of(rc.hooks.AttemptStarted)]


def fallback_client(client: Any) -> Any:
    return runtime_of(unwrapped(client))._fallback_clients.built()[FALLBACK]


def items_in(cloud: FakeCloud, region: str) -> dict[str, dict[str, Any]]:
    plain = boto3.client("dynamodb", region_name=region, use_ssl=False)
    try:
        items = plain.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    finally:
        plain.close()
    return {item["pk"]["S"]: item for item in items}


# -- reads fail over, then stick -------------------------------------------


def _serve_500s(cloud: FakeCloud) -> None:
    cloud.set_faults(PRIMARY, Faults(error_rate=1.0), service="dynamodb")


def _empty_dns(cloud: FakeCloud) -> None:
    cloud.set_dns(PRIMARY, "empty", service="dynamodb")


def _server_down(cloud: FakeCloud) -> None:
    cloud.set_tcp(PRIMARY, "refuse")


FAILURES = [
    # (inject, policy fields, the words the failover reason must carry)
    pytest.param(_serve_500s, {}, "server-error (InternalServerError)", id="500s"),
    # A cold cache (no DNS cache at all): every lookup meets the empty record.
    pytest.param(_empty_dns, {"dns": None}, "connection-failed (EndpointConnectionError)",
                 id="empty-dns-no-cache"),
    # The default cache, cold (rc.testing.reset() ran): nothing stale to serve.
    pytest.param(_empty_dns, {}, "connection-failed (EndpointConnectionError)",
                 id="empty-dns-cold-cache"),
    pytest.param(_server_down, {}, "connection-failed (EndpointConnectionError)", id="refused"),
]


@pytest.mark.parametrize(("inject", "fields", "failure"), FAILURES)
def test_reads_fail_over_then_stick_to_the_fallback(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
    inject: Callable[[FakeCloud], None], fields: dict[str, Any], failure: str,
) -> None:
    events = Events()
    failover = rc.Failover()
    client = regional_client(regional_session(fake_policy(events, failover=failover, **fields)), closing)
    inject(tables)

    # Each of the first switch_after calls tries us-east-1, fails, and moves
    # at once (no backoff) to us-west-2, which answers.
    for _ in range(failover.switch_after):
        assert served_by(client) == FALLBACK
    moved = events.of(rc.hooks.FailedOver)
    assert len(moved) == failover.switch_after
    for event in moved:
        assert (event.operation, event.region, event.to_region) == ("GetItem", PRIMARY, FALLBACK)
        assert failure in event.reason and PRIMARY in event.reason
    assert events.of(rc.hooks.RetryScheduled) and all(
        e.delay == 0.0 for e in events.of(rc.hooks.RetryScheduled)
    )
    assert attempt_regions(events) == [PRIMARY, FALLBACK] * failover.switch_after
    # ...and the last of them moved every later call.
    [switched] = events.of(rc.hooks.RegionSwitched)
    assert (switched.region, switched.before, switched.after) == (PRIMARY, PRIMARY, FALLBACK)
    assert f"{failover.switch_after} failures in a row in {PRIMARY}" in switched.reason
    assert failure in switched.reason

    primary_requests = dynamodb_requests(tables, PRIMARY)
    fallback_requests = dynamodb_requests(tables, FALLBACK)
    assert fallback_requests == failover.switch_after
    events.clear()
    for _ in range(5):
        assert served_by(client) == FALLBACK
    assert attempt_regions(events) == [FALLBACK] * 5  # every call starts there
    assert not events.of(rc.hooks.FailedOver) and not events.of(rc.hooks.RegionSwitched)
    assert dynamodb_requests(tables, PRIMARY) == primary_requests
    assert dynamodb_requests(tables, FALLBACK) == fallback_requests + 5


def test_a_warm_dns_cache_keeps_the_primary_serving_through_an_empty_record(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    """The default DNS cache holds a good answer: the empty record changes
    nothing, even for a new client (new connections) after the answer expired."""
    events = Events()
    clock = FakeClock()
    session = regional_session(fake_policy(events, clock))
    assert served_by(regional_client(session, closing)) == PRIMARY  # warms the cache
    _empty_dns(tables)
    clock.advance(rc.DnsCache().ttl + 1.0)  # expired: refreshes fail, the answer is served stale

    fresh = regional_client(session, closing)  # its own pool: it must connect again
    for _ in range(5):
        assert served_by(fresh) == PRIMARY
    assert set(attempt_regions(events)) == {PRIMARY}
    assert not events.of(rc.hooks.FailedOver) and not events.of(rc.hooks.RegionSwitched)
    assert events.of(rc.hooks.DnsStaleAnswerServed)
    assert tables.resolver().lookups()[PRIMARY]["dynamodb"].get("empty", 0) >= 1
    assert dynamodb_requests(tables, PRIMARY) == 6 and dynamodb_requests(tables, FALLBACK) == 0


def test_a_failing_probe_keeps_the_fallback_and_a_succeeding_one_fails_back(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    events = Events()
    clock = FakeClock()
    failover = rc.Failover(stick_for=5.0, probe_interval=1.0)
    session = regional_session(fake_policy(events, clock, failover=failover))
    client = regional_client(session, closing)
    _serve_500s(tables)
    for _ in range(failover.switch_after):
        assert served_by(client) == FALLBACK
    assert len(events.of(rc.hooks.RegionSwitched)) == 1

    # Inside the stick window nothing goes to us-east-1.
    clock.advance(failover.stick_for - 0.5)
    events.clear()
    assert served_by(client) == FALLBACK
    assert attempt_regions(events) == [FALLBACK]

    # Past it, one call probes us-east-1; still sick, the call moves on and
    # the client stays on us-west-2.
    clock.advance(1.0)
    events.clear()
    assert served_by(client) == FALLBACK
    assert attempt_regions(events) == [PRIMARY, FALLBACK]
    [probe_failed] = events.of(rc.hooks.FailedOver)
    assert "server-error (InternalServerError)" in probe_failed.reason
    assert not events.of(rc.hooks.RegionSwitched)
    # The next probe waits probe_interval.
    events.clear()
    assert served_by(client) == FALLBACK
    assert attempt_regions(events) == [FALLBACK]

    # us-east-1 recovers; after probe_interval one probe goes there and wins.
    tables.clear_faults(PRIMARY)
    primary_requests = dynamodb_requests(tables, PRIMARY)
    clock.advance(failover.probe_interval)
    events.clear()
    assert served_by(client) == PRIMARY
    assert attempt_regions(events) == [PRIMARY]
    [back] = events.of(rc.hooks.RegionSwitched)
    assert (back.before, back.after) == (FALLBACK, PRIMARY)
    assert back.reason == f"a probe of {PRIMARY} succeeded"
    assert dynamodb_requests(tables, PRIMARY) == primary_requests + 1

    events.clear()
    for _ in range(5):
        assert served_by(client) == PRIMARY
    assert attempt_regions(events) == [PRIMARY] * 5
    [entry] = [h for h in session.health() if h.endpoint.region == PRIMARY]
    assert entry.routing is not None
    assert (entry.routing.region, entry.routing.reason) == (PRIMARY, back.reason)
    assert entry.routing.switches == 2 and entry.routing.probe_after is None


def test_failback_after_the_outage_and_the_stick_window(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    events = Events()
    clock = FakeClock()
    failover = rc.Failover()
    client = regional_client(regional_session(fake_policy(events, clock, failover=failover)), closing)
    _server_down(tables)
    for _ in range(failover.switch_after):
        assert served_by(client) == FALLBACK
    tables.set_tcp(PRIMARY, "ok")  # recovered, but the window is not over
    assert served_by(client) == FALLBACK

    clock.advance(failover.stick_for)
    events.clear()
    assert served_by(client) == PRIMARY  # the probe
    [back] = events.of(rc.hooks.RegionSwitched)
    assert (back.region, back.before, back.after) == (PRIMARY, FALLBACK, PRIMARY)
    assert PRIMARY in back.reason and "probe" in back.reason
    fallback_requests = dynamodb_requests(tables, FALLBACK)
    for _ in range(3):
        assert served_by(client) == PRIMARY
    assert attempt_regions(events) == [PRIMARY] * 4
    assert dynamodb_requests(tables, FALLBACK) == fallback_requests


def test_a_read_timeout_fails_a_read_over_but_never_a_write(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    """A black-holed primary: the read times out and moves on; the write
    (writes=True) may have been applied, so it stays and fails."""
    events = Events()
    client = regional_client(
        regional_session(fake_policy(events, failover=rc.Failover(writes=True))), closing,
        config=Config(connect_timeout=1, read_timeout=0.3),
    )
    tables.set_tcp(PRIMARY, "blackhole")
    assert served_by(client) == FALLBACK
    [moved] = events.of(rc.hooks.FailedOver)
    assert "timeout (ReadTimeoutError)" in moved.reason
    events.clear()
    with pytest.raises(ReadTimeoutError) as caught:
        client.update_item(
            TableName=TABLE, Key=KEY, UpdateExpression="SET n = :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    assert rc.stop_details(caught.value).reason is rc.StopReason.UNSAFE_TO_RETRY
    assert attempt_regions(events) == [PRIMARY]
    assert dynamodb_requests(tables, FALLBACK) == 1  # the read only
    tables.clear_faults(PRIMARY)
    assert "n" not in items_in(tables, FALLBACK)["1"]


def test_throttling_is_not_a_reason_to_fail_over(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    events = Events()
    client = regional_client(regional_session(fake_policy(events)), closing)
    tables.set_faults(
        PRIMARY, Faults(error_rate=1.0, error_kind="ProvisionedThroughputExceededException"),
        service="dynamodb",
    )
    with pytest.raises(ClientError) as caught:
        served_by(client)
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert set(attempt_regions(events)) == {PRIMARY}
    assert not events.of(rc.hooks.FailedOver) and not events.of(rc.hooks.RegionSwitched)
    assert dynamodb_requests(tables, FALLBACK) == 0


def test_an_open_breaker_moves_calls_before_switch_after(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    events = Events()
    policy = fake_policy(
        events, failover=rc.Failover(switch_after=10),
        breaker=rc.CircuitBreaker(consecutive_failures=2),
    )
    client = regional_client(regional_session(policy), closing)
    _serve_500s(tables)
    for _ in range(2):
        assert served_by(client) == FALLBACK
    assert not events.of(rc.hooks.RegionSwitched)
    assert [e.after for e in events.of(rc.hooks.BreakerStateChanged)] == ["open"]
    primary_requests = dynamodb_requests(tables, PRIMARY)
    events.clear()
    assert served_by(client) == FALLBACK
    [switched] = events.of(rc.hooks.RegionSwitched)
    assert (switched.before, switched.after) == (PRIMARY, FALLBACK)
    assert switched.reason == f"the breaker of {PRIMARY} is open"
    assert attempt_regions(events) == [FALLBACK]
    assert dynamodb_requests(tables, PRIMARY) == primary_requests


def test_an_allowed_write_is_not_spent_as_the_probe_of_a_sick_primary(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    events = Events()
    clock = FakeClock()
    failover = rc.Failover(writes={"PutItem"})
    client = regional_client(regional_session(fake_policy(events, clock, failover=failover)), closing)
    _serve_500s(tables)
    for _ in range(failover.switch_after):
        assert served_by(client) == FALLBACK
    client.put_item(TableName=TABLE, Item={"pk": {"S": "a"}})  # sticky: goes to us-west-2
    clock.advance(failover.stick_for)  # the primary may be probed now
    events.clear()
    client.put_item(TableName=TABLE, Item={"pk": {"S": "b"}})  # raises InternalServerError
    assert attempt_regions(events) == [FALLBACK]


# -- no flapping -----------------------------------------------------------


def test_an_intermittent_primary_does_not_make_the_client_flap(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    """Half the primary's answers are 500s. Every departure from us-east-1
    keeps the client away at least stick_for (doubled after each quick
    return, up to max_stick_for), so the switches stay few."""
    clock = FakeClock()
    switches: list[tuple[float, Any]] = []

    def note_switch(event: Any) -> None:
        if isinstance(event, rc.hooks.RegionSwitched):
            switches.append((clock.monotonic(), event))

    events = Events()
    failover = rc.Failover(stick_for=1.0, max_stick_for=8.0, probe_interval=0.25)
    # The breaker and the budget off: this is about the router alone.
    policy = rc.Policy(
        clock=clock, random=random.Random(1), hooks=(events, note_switch),
        failover=failover, breaker=None, budget=None,
    )
    client = regional_client(regional_session(policy), closing)
    tables.set_faults(PRIMARY, Faults(error_rate=0.5, seed=7), service="dynamodb")
    calls, step = 300, 0.05
    served = []
    for _ in range(calls):
        served.append(served_by(client))
        clock.advance(step)
    elapsed = calls * step

    assert len(served) == calls  # every read answered, by one region or the other
    assert events.of(rc.hooks.FailedOver)  # the primary did fail
    departures = [t for t, e in switches if e.after == FALLBACK]
    returns = [t for t, e in switches if e.after == PRIMARY]
    assert departures and [e.after for _, e in switches] == [FALLBACK, PRIMARY] * len(returns) + (
        [FALLBACK] if len(departures) > len(returns) else []
    )
    # Each stay away lasted at least what the doubling rule planned.
    stay = failover.stick_for
    planned = []
    previous_return: float | None = None
    for k, left in enumerate(departures):
        if previous_return is not None and left - previous_return < stay:
            stay = min(failover.max_stick_for, stay * 2)  # a quick return: twice as long
        else:
            stay = failover.stick_for
        planned.append(stay)
        if k < len(returns):
            assert returns[k] - left >= stay, (k, returns[k] - left, stay)
            previous_return = returns[k]
    assert max(planned) > failover.stick_for  # the primary failed again soon: stays grew
    # A bound from the options alone. A cycle (a stay s away, then p on the
    # primary) lasts s + p. If p >= s the next stay is stick_for again and
    # the cycle took >= 2 * stick_for; if p < s the next stay doubles, so a
    # run of m quick cycles and the reset after it take >= (3 * 2**m - 1) *
    # stick_for over m + 1 cycles: again >= 2 * stick_for each (this needs
    # max_stick_for >= 2 * stick_for). Add the first departure and a short
    # quick run at the end: at most 2 + elapsed / (2 * stick_for)
    # departures, two switches each.
    assert failover.max_stick_for >= 2 * failover.stick_for
    bound = 2 * (2 + int(elapsed / (2 * failover.stick_for)))
    assert len(switches) <= bound, (len(switches), bound)
    # For contrast: the primary failed its first attempt on far more calls.
    assert len(events.of(rc.hooks.FailedOver)) > len(switches)


# -- writes ----------------------------------------------------------------


def test_writes_do_not_fail_over_by_default(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    events = Events()
    client = regional_client(regional_session(fake_policy(events)), closing)
    _serve_500s(tables)
    with pytest.raises(ClientError) as caught:
        client.put_item(TableName=TABLE, Item={"pk": {"S": "w"}, "region": {"S": "written"}})
    assert caught.value.response["Error"]["Code"] == "InternalServerError"
    assert rc.stop_details(caught.value).reason is rc.StopReason.UNSAFE_TO_RETRY
    assert attempt_regions(events) == [PRIMARY]
    assert not events.of(rc.hooks.FailedOver)
    # Reads keep failing over meanwhile.
    assert served_by(client) == FALLBACK
    assert dynamodb_requests(tables, FALLBACK) == 1  # the read only
    assert fallback_client(client) is not None
    tables.clear_faults()
    assert "w" not in items_in(tables, FALLBACK) and "w" not in items_in(tables, PRIMARY)


def test_writes_never_fail_over_after_an_ambiguous_failure(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    """writes=True: a 500 may mean the write was applied; it stays put."""
    events = Events()
    client = regional_client(
        regional_session(fake_policy(events, failover=rc.Failover(writes=True))), closing
    )
    _serve_500s(tables)
    for i in range(3):
        with pytest.raises(ClientError) as caught:
            client.put_item(TableName=TABLE, Item={"pk": {"S": f"w{i}"}})
        assert caught.value.response["Error"]["Code"] == "InternalServerError"
    assert attempt_regions(events) == [PRIMARY] * 3
    assert not events.of(rc.hooks.FailedOver)
    assert dynamodb_requests(tables, FALLBACK) == 0
    tables.clear_faults()
    assert not {"w0", "w1", "w2"} & set(items_in(tables, FALLBACK))


def test_a_named_write_fails_over_once_when_the_primary_refuses(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    events = Events()
    client = regional_client(
        regional_session(fake_policy(events, failover=rc.Failover(writes={"PutItem"}))), closing
    )
    _server_down(tables)
    client.put_item(TableName=TABLE, Item={"pk": {"S": "w"}, "region": {"S": "written"}})
    assert attempt_regions(events) == [PRIMARY, FALLBACK]
    [moved] = events.of(rc.hooks.FailedOver)
    assert moved.operation == "PutItem" and "connection-failed" in moved.reason
    stats = tables.stats(FALLBACK)
    assert stats["by_service"] == {"dynamodb": 1} and stats["outcomes"] == {"ok": 1}
    # Another write not named stays home, and fails there.
    with pytest.raises(EndpointConnectionError):
        client.delete_item(TableName=TABLE, Key=KEY)
    assert set(attempt_regions(events)[2:]) == {PRIMARY}
    tables.set_tcp(PRIMARY, "ok")
    assert items_in(tables, FALLBACK)["w"]["region"] == {"S": "written"}
    assert "w" not in items_in(tables, PRIMARY)
    assert dynamodb_requests(tables, FALLBACK) == 1 + 1  # the write, and our scan


# -- fallback clients are built like the primary ---------------------------


def test_session_fallback_clients_copy_the_clients_arguments(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    config = Config(connect_timeout=1, read_timeout=2, max_pool_connections=3, user_agent_extra="probe/1")
    events = Events()
    session = regional_session(fake_policy(events))
    client = regional_client(
        session, closing, config=config, verify=False,
        aws_access_key_id="AKIDSESSIONCOPY", aws_secret_access_key="secret-session",
    )
    _serve_500s(tables)
    assert served_by(client) == FALLBACK
    fallback = fallback_client(client)

    assert fallback is not client and fallback.meta.region_name == FALLBACK
    assert fallback.meta.endpoint_url == f"http://dynamodb.{FALLBACK}.amazonaws.com"
    for name in ("connect_timeout", "read_timeout", "max_pool_connections", "user_agent_extra"):
        assert getattr(fallback.meta.config, name) == getattr(config, name), name
    assert fallback._endpoint.http_session._verify is False
    credentials = fallback._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == ("AKIDSESSIONCOPY", "secret-session")
    # Our driver owns retries: the fallback client sends each attempt once.
    tables.set_faults(FALLBACK, Faults(error_rate=1.0), service="dynamodb")
    tables.reset_stats()
    events.clear()
    with pytest.raises(ClientError):
        served_by(client)
    assert attempt_regions(events) == [PRIMARY, FALLBACK] * 2  # 4 attempts, alternating
    assert dynamodb_requests(tables, PRIMARY) == dynamodb_requests(tables, FALLBACK) == 2


def test_wrapped_clients_rebuild_fallbacks_with_the_same_credentials_and_config(
    tables: FakeCloud, closing: Callable[[Any], Any], clients: Clients,
) -> None:
    config = Config(connect_timeout=1, read_timeout=2, max_pool_connections=3)
    plain = closing(clients.plain(
        "dynamodb", region_name=PRIMARY, use_ssl=False, verify=False, config=config,
        aws_access_key_id="AKIDWRAPPED", aws_secret_access_key="secret-wrapped",
    ))
    events = Events()
    client = clients.wrap(plain, policy=fake_policy(events), fallback_regions=[FALLBACK])
    assert client is plain
    _serve_500s(tables)
    assert served_by(client) == FALLBACK
    fallback = fallback_client(client)

    assert fallback.meta.region_name == FALLBACK
    assert fallback.meta.endpoint_url == f"http://dynamodb.{FALLBACK}.amazonaws.com"
    assert fallback._request_signer._credentials is plain._request_signer._credentials
    assert fallback._request_signer._credentials.access_key == "AKIDWRAPPED"
    for name in ("connect_timeout", "read_timeout", "max_pool_connections"):
        assert getattr(fallback.meta.config, name) == getattr(config, name), name
    assert fallback._endpoint.http_session._verify is False


# -- endpoint_url ----------------------------------------------------------


def _url(cloud: FakeCloud, region: str) -> str:
    ip, port = cloud.address(region)
    return f"http://{ip}:{port}"


def test_a_custom_endpoint_url_needs_endpoint_urls(
    tables: FakeCloud, regional_session: MakeSession, clients: Clients
) -> None:
    session = regional_session(fake_policy(Events()))
    with pytest.raises(ValueError, match="endpoint_urls") as caught:
        session.client(
            "dynamodb", endpoint_url=_url(tables, PRIMARY), config=CONFIG, fallback_regions=[FALLBACK]
        )
    assert FALLBACK in str(caught.value)
    plain = clients.plain("dynamodb", region_name=PRIMARY, endpoint_url=_url(tables, PRIMARY))
    with pytest.raises(ValueError, match="endpoint_urls"):
        clients.wrap(plain, fallback_regions=[FALLBACK])
    assert runtime_of(unwrapped(plain)) is None  # nothing installed
    plain.close()


def test_endpoint_urls_route_the_fallback(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    events = Events()
    client = closing(regional_session(fake_policy(events)).client(
        "dynamodb", endpoint_url=_url(tables, PRIMARY), config=CONFIG,
        fallback_regions=[FALLBACK], endpoint_urls={FALLBACK: _url(tables, FALLBACK)},
    ))
    assert served_by(client) == PRIMARY
    _serve_500s(tables)
    assert served_by(client) == FALLBACK
    assert fallback_client(client).meta.endpoint_url == _url(tables, FALLBACK)
    [moved] = events.of(rc.hooks.FailedOver)
    assert (moved.region, moved.to_region) == (PRIMARY, FALLBACK)
    assert tables.resolver().lookups() == {}  # by address, never by name


# -- build-time validation -------------------------------------------------


@pytest.mark.parametrize(
    ("regions", "words"),
    [
        (["cn-north-1"], ("'cn-north-1'", "partition", "'aws'")),
        (["us-moon-1"], ("'us-moon-1' is not a region botocore knows for dynamodb",)),
        ([PRIMARY], (f"'{PRIMARY}' is the client's own region",)),
    ],
    ids=["other-partition", "unknown", "own-region"],
)
def test_fallback_regions_are_checked_when_the_client_is_built(
    regions: list[str], words: tuple[str, ...], regional_session: MakeSession, clients: Clients
) -> None:
    session = regional_session(fake_policy(Events()))
    with pytest.raises(ValueError, match="fallback_regions") as caught:
        session.client("dynamodb", use_ssl=False, fallback_regions=regions)
    assert all(word in str(caught.value) for word in words), caught.value
    plain = clients.plain("dynamodb", region_name=PRIMARY)
    with pytest.raises(ValueError, match="fallback_regions") as caught:
        clients.wrap(plain, fallback_regions=regions)
    assert all(word in str(caught.value) for word in words), caught.value
    assert runtime_of(unwrapped(plain)) is None
    plain.close()


# -- hedged reads (real time) ----------------------------------------------
#
# A hedge's delay is waited in real time, so these run on the system clock;
# what they assert is an order of events (the call returned before the slow
# primary answered), not a duration a loaded machine could stretch.

SLOW = 1.0


def _attempts_ended_in(events: Events, region: str) -> list[str]:
    return [e.outcome for e in events.of(rc.hooks.AttemptEnded) if e.region == region]


def _wait_for_legs(client: Any, cloud: FakeCloud) -> None:
    """Let the losing (slow) request end before the next test resets the cloud."""
    if not is_async(client):
        pool = runtime_of(client)._driver._hedge_pool
        pool.executor().shutdown(wait=True)
        return
    # The async driver cancelled the losing leg before the call returned, but
    # the server is still serving the request it abandoned: wait until it has
    # answered (into a closed connection), so the next test's stats are its own.
    deadline = time.monotonic() + 5 * SLOW
    while time.monotonic() < deadline:
        stats = cloud.stats(PRIMARY)
        if sum(stats["outcomes"].values()) == stats["requests"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"the primary still serves an abandoned request: {cloud.stats(PRIMARY)}")


def test_a_slow_primary_read_is_hedged_to_the_fallback(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    events = Events()
    hedge = rc.Hedge(delay=0.05)
    session = regional_session(rc.Policy(hooks=(events,), hedge=hedge))
    client = regional_client(session, closing)
    # Connections up, fallback unused: a write, which is never hedged (a
    # first read may take longer than the hedge's delay, as an async
    # client's does while it makes its aiohttp session and first connection).
    client.put_item(TableName=TABLE, Item={**KEY, "region": {"S": PRIMARY}})
    tables.set_faults(PRIMARY, Faults(latency=SLOW), service="dynamodb")
    events.clear()
    try:
        assert served_by(client) == FALLBACK
        # The call did not wait for the slow primary's answer.
        primary_when_served = _attempts_ended_in(events, PRIMARY)
    finally:
        _wait_for_legs(client, tables)
    assert [e.region for e in events.of(rc.hooks.AttemptStarted)] == [PRIMARY, FALLBACK]
    if is_async(client):
        # The async driver cancels the losing leg once the hedge has won (a
        # task can be cancelled; a sync request on a pool thread cannot):
        # its attempt ends "cancelled" before the call returns.
        assert primary_when_served == ["cancelled"]
        assert _attempts_ended_in(events, PRIMARY) == ["cancelled"]
    else:
        assert primary_when_served == []  # it had not answered yet
        assert _attempts_ended_in(events, PRIMARY) == ["success"]  # answered later, discarded
    [fired] = events.of(rc.hooks.HedgeFired)
    assert (fired.region, fired.to_region, fired.delay) == (PRIMARY, FALLBACK, hedge.delay)
    [ended] = events.of(rc.hooks.HedgeEnded)
    assert ended.hedge_won is True
    [entry] = [h for h in session.health() if h.endpoint.region == PRIMARY]
    assert entry.hedging is not None
    assert (entry.hedging.fired, entry.hedging.won, entry.hedging.refused) == (1, 1, 0)
    assert entry.hedging.delay == hedge.delay
    # Both regions saw the read: the primary's answer was discarded.
    assert dynamodb_requests(tables, PRIMARY) == 2 and dynamodb_requests(tables, FALLBACK) == 1


def test_no_hedge_without_budget(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    events = Events()
    policy = rc.Policy(
        hooks=(events,), hedge=rc.Hedge(delay=0.05),
        budget=rc.RetryBudget(ratio=0.0, min_retries_per_second=0.0),
    )
    session = regional_session(policy)
    client = regional_client(session, closing)
    tables.set_faults(PRIMARY, Faults(latency=SLOW), service="dynamodb")
    try:
        assert served_by(client) == PRIMARY
        # The call waited for the slow primary's answer: nothing else was sent.
        ended = _attempts_ended_in(events, PRIMARY), _attempts_ended_in(events, FALLBACK)
    finally:
        _wait_for_legs(client, tables)
    assert ended == (["success"], [])
    assert not events.of(rc.hooks.HedgeFired) and not events.of(rc.hooks.HedgeEnded)
    [entry] = [h for h in session.health() if h.endpoint.region == PRIMARY]
    assert entry.hedging is not None
    assert (entry.hedging.fired, entry.hedging.won, entry.hedging.refused) == (0, 0, 1)
    assert dynamodb_requests(tables, FALLBACK) == 0


# -- the health view -------------------------------------------------------


def test_session_health_shows_where_calls_go_and_why(
    tables: FakeCloud, closing: Callable[[Any], Any], regional_session: MakeSession,
) -> None:
    clock = FakeClock()
    failover = rc.Failover()
    session = regional_session(fake_policy(Events(), clock, failover=failover))
    client = regional_client(session, closing)
    served_by(client)
    [entry] = session.health()
    assert entry.routing is not None
    assert (entry.routing.region, entry.routing.switches) == (PRIMARY, 0)
    assert entry.routing.reason == "the client's own region"
    assert entry.routing.probe_after is None

    _serve_500s(tables)
    for _ in range(failover.switch_after):
        served_by(client)
    clock.advance(2.0)
    by_region = {h.endpoint.region: h for h in session.health()}
    assert set(by_region) == {PRIMARY, FALLBACK}
    routing = by_region[PRIMARY].routing
    assert routing is not None
    assert routing.region == FALLBACK and routing.switches == 1
    assert f"3 failures in a row in {PRIMARY}" in routing.reason
    assert "InternalServerError" in routing.reason
    assert routing.since == pytest.approx(2.0)
    assert routing.probe_after == pytest.approx(failover.stick_for - 2.0)
    assert routing.regions == (PRIMARY, FALLBACK)
    assert by_region[FALLBACK].routing is None  # routing lives with the client's own endpoint
    assert by_region[PRIMARY].endpoint.host == f"dynamodb.{PRIMARY}.amazonaws.com"
    as_dict = by_region[PRIMARY].as_dict()
    assert as_dict["routing"]["region"] == FALLBACK
    assert rc.health() == session.health()
