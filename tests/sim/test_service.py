"""The simulated service: its queue, its wasted work and its triggers."""

from __future__ import annotations

import pytest

from resilient_cloud.sim import service
from resilient_cloud.sim.service import Service
from resilient_cloud.sim.triggers import Trigger


def make(*triggers: Trigger, capacity: float = 100.0, queue_limit: int = 1000,
         timeout: float = 1.0) -> Service:
    return Service(capacity=capacity, queue_limit=queue_limit, base_latency=0.01,
                   timeout=timeout, triggers=triggers, seed=7)


def test_an_idle_service_answers_after_one_request_of_work_and_the_latency() -> None:
    answer = make().request(5.0)
    assert answer.kind == service.OK
    assert answer.after == pytest.approx(1 / 100 + 0.01)


def test_requests_wait_for_the_backlog_and_time_out_past_the_client_timeout() -> None:
    svc = make(capacity=100.0, timeout=1.0)
    answers = [svc.request(0.0) for _ in range(150)]
    # The 99th request is answered after 0.99 s + 10 ms; from the 100th on,
    # later than the client waits.
    assert [a.kind for a in answers[:99]] == [service.OK] * 99
    assert {a.kind for a in answers[99:]} == {service.TIMEOUT}
    assert answers[99].after == 1.0
    assert (svc.useful, svc.wasted, svc.arrived) == (99, 51, 150)
    # The server still works off the timed-out requests: 1.5 s of work.
    assert svc.queue_length(1.0) == pytest.approx(50.0)
    assert svc.queue_length(1.5) == pytest.approx(0.0)


def test_a_full_queue_sheds_at_once() -> None:
    svc = make(queue_limit=10)
    kinds = [svc.request(0.0).kind for _ in range(12)]
    assert kinds.count(service.SHED) == 2
    assert svc.request(0.0).after == 0.01  # answered without waiting


def test_a_capacity_trigger_slows_the_server_and_the_ramp_brings_it_back() -> None:
    trigger = Trigger("capacity", 10.0, 20.0, level=0.3, recover_from=0.5, ramp=10.0)
    svc = make(trigger)
    assert svc.capacity_at(9.9) == 100.0
    assert svc.capacity_at(10.0) == pytest.approx(30.0)
    assert svc.capacity_at(20.0) == pytest.approx(50.0)
    assert svc.capacity_at(25.0) == pytest.approx(75.0)
    assert svc.capacity_at(30.0) == 100.0
    assert svc.request(15.0).after == pytest.approx(1 / 30 + 0.01)


def test_an_outage_answers_500_at_once_and_a_dns_outage_sends_nothing() -> None:
    svc = make(Trigger("outage", 0.0, 10.0), Trigger("dns", 10.0, 20.0))
    assert svc.request(1.0) == service.Answer(service.SERVER_ERROR, 0.01)
    assert svc.request(11.0) == service.Answer(service.DNS_FAILED, 0.0)
    assert svc.arrived == 1
    assert svc.request(25.0).kind == service.OK


def test_random_throttling_takes_its_share_from_the_service_seed() -> None:
    svc = make(Trigger("throttle", 0.0, 100.0, share=0.3), capacity=1e6)
    kinds = [svc.request(i * 0.001).kind for i in range(10_000)]
    assert 0.27 < kinds.count(service.THROTTLED) / len(kinds) < 0.33
    again = make(Trigger("throttle", 0.0, 100.0, share=0.3), capacity=1e6)
    assert kinds == [again.request(i * 0.001).kind for i in range(10_000)]


def test_capacity_throttling_admits_its_rate_and_throttles_the_rest() -> None:
    svc = make(Trigger("throttle-capacity", 0.0, 100.0, level=1.0), capacity=100.0)
    # 300 requests per second for 10 s against an admitted 100 per second.
    kinds = [svc.request(i / 300).kind for i in range(3000)]
    admitted = sum(kind != service.THROTTLED for kind in kinds)
    assert 990 <= admitted <= 1100


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"kind": "flood"}, "kind"),
        ({"start": 5.0, "end": 5.0}, "end"),
        ({"level": 1.5}, "level"),
        ({"share": -0.1}, "share"),
        ({"recover_from": 2.0}, "recover_from"),
        ({"ramp": -1.0}, "ramp"),
    ],
)
def test_a_bad_trigger_is_refused_naming_the_field(fields: dict, named: str) -> None:
    arguments = {"kind": "outage", "start": 0.0, "end": 10.0, **fields}
    with pytest.raises(ValueError, match=named):
        Trigger(**arguments)


def test_a_black_hole_takes_requests_and_never_answers() -> None:
    svc = make(Trigger("blackhole", 0.0, 10.0), timeout=1.0)
    assert svc.request(1.0) == service.Answer(service.TIMEOUT, 1.0)
    assert svc.request(11.0).kind == service.OK
