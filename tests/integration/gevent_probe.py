"""Run as a script, never imported: resilient_cloud's policies under gevent,
as Locust's workers run them (every thread a greenlet, every wait
cooperative). ``python gevent_probe.py DESCRIPTION_JSON`` drives the fake
cloud described and prints one JSON line of what happened; the test
(test_gevent_policies.py) judges it.
"""

from gevent import monkey

monkey.patch_all()  # first, as Locust does, before anything imports socket or threading

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import boto3  # noqa: E402
import gevent  # noqa: E402

import resilient_cloud as rc  # noqa: E402
from resilient_cloud import hooks  # noqa: E402
from resilient_cloud.fakecloud import REGION_HEADER, Faults, RemoteCloud  # noqa: E402

TABLE, KEY = "t", {"pk": {"S": "1"}}
PRIMARY, FALLBACK = "us-east-1", "us-west-2"


def client(policy, **kwargs):
    session = rc.Session(policy=policy)
    return session.client("dynamodb", region_name=PRIMARY, use_ssl=False, **kwargs)


def read(ddb):
    answer = ddb.get_item(TableName=TABLE, Key=KEY)
    return answer["ResponseMetadata"]["HTTPHeaders"][REGION_HEADER]


def hedging(cloud, events):
    """Every read of a 1 s late primary is hedged to the fallback after
    50 ms; four greenlets at once all get the fallback's answer early."""
    cloud.set_faults(PRIMARY, Faults(latency=1.0), service="dynamodb")
    ddb = client(rc.Policy(hedge=rc.Hedge(delay=0.05), hooks=(events.append,)), fallback_regions=[FALLBACK])
    started = time.monotonic()
    greenlets = [gevent.spawn(read, ddb) for _ in range(4)]
    gevent.joinall(greenlets, timeout=10, raise_error=True)
    elapsed = time.monotonic() - started
    cloud.clear_faults(PRIMARY)
    return {
        "served_by": [g.value for g in greenlets], "elapsed": elapsed,
        "fired": sum(isinstance(e, hooks.HedgeFired) for e in events),
        "won": sum(isinstance(e, hooks.HedgeEnded) and e.hedge_won for e in events),
    }


def bulkhead(cloud, events):
    """One slot, a queue of four: three greenlets at once against a 0.3 s
    late server wait their turn and all succeed."""
    cloud.set_faults(PRIMARY, Faults(latency=0.3), service="dynamodb")
    policy = rc.Policy(
        bulkhead=rc.Bulkhead(max_concurrent=1, max_queue=4, max_wait=5.0), hooks=(events.append,)
    )
    ddb = client(policy)
    started = time.monotonic()
    ends = []

    def call():
        served = read(ddb)
        ends.append(time.monotonic() - started)
        return served

    greenlets = [gevent.spawn(call) for _ in range(3)]
    waiting = 0
    while not all(g.ready() for g in greenlets) and time.monotonic() - started < 10:
        for entry in rc.health():
            if entry.bulkhead is not None:
                waiting = max(waiting, entry.bulkhead.waiting)
        gevent.sleep(0.02)
    gevent.joinall(greenlets, timeout=10, raise_error=True)
    cloud.clear_faults(PRIMARY)
    rejected = [e for e in events if isinstance(e, hooks.CallRejected)]
    return {"served_by": [g.value for g in greenlets], "ends": sorted(ends),
            "most_waiting": waiting, "rejected": len(rejected)}


def dns(cloud, events):
    """The record goes empty: a new connection gets the last good answer
    (stale). Then the name moves to the fallback's server: the next new
    connection gets the fresh answer there (refreshed, not stuck)."""
    # While stale, the name is asked again (by a background thread: a greenlet here) every 0.2 s.
    cache = rc.DnsCache(ttl=0.0, refresh_timeout=0.5, refresh_interval=0.2)
    policy = rc.Policy(dns=cache, failover=None, hooks=(events.append,))
    # A new client per read: a new connection pool, so every read looks the name up.
    first = read(client(policy))
    cloud.set_dns(PRIMARY, "empty", service="dynamodb")
    stale = read(client(policy))
    cloud.set_dns(PRIMARY, "address", service="dynamodb", address=cloud.address(FALLBACK))
    reads = []
    while len(reads) < 20 and "us-west-2" not in reads:  # bounded: at most ~2 s
        time.sleep(0.1)
        reads.append(read(client(policy)))
    cloud.clear_dns()
    return {
        "served_by": [first, stale, reads[-1]], "reads_to_refresh": len(reads),
        "stale": sum(isinstance(e, hooks.DnsStaleAnswerServed) for e in events),
        "recovered": sum(isinstance(e, hooks.DnsRecovered) for e in events),
    }


def create_item(region):
    plain = boto3.client("dynamodb", region_name=region, use_ssl=False)
    plain.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    plain.put_item(TableName=TABLE, Item=KEY)


def main() -> None:
    cloud = RemoteCloud(json.loads(sys.argv[1]))
    cloud.resolver().install()
    for region in (PRIMARY, FALLBACK):
        create_item(region)
    # The fallback's server also answers for the primary's name in dns():
    # moto keeps data by the region a request is signed for.
    cloud.set_dns(PRIMARY, "address", service="dynamodb", address=cloud.address(FALLBACK))
    create_item(PRIMARY)
    cloud.clear_dns()
    report = {"patched": monkey.is_module_patched("threading") and monkey.is_module_patched("socket")}
    for check in (hedging, bulkhead, dns):
        rc.testing.reset()
        report[check.__name__] = check(cloud, [])
    print(json.dumps(report))


if __name__ == "__main__":
    # A deadlock must end the probe, not hang the suite (the test also has a timeout).
    with gevent.Timeout(60):
        main()
