"""Each simulated policy runs its real code, and behaves as that code does."""

from __future__ import annotations

import dataclasses
import random

import pytest

import resilient_cloud as rc
from resilient_cloud.sim import engine, fleets
from resilient_cloud.sim.figures import figures
from resilient_cloud.sim.scenarios import SCENARIOS, SimScenario
from resilient_cloud.sim.triggers import Trigger

OUTAGE = SimScenario(
    "test-outage", "500s all along", duration=100.0, clients=1, rate=1.0, load=0.1,
    triggers=(Trigger("outage", 0.0, 1000.0),), drain=0.0,
)


def one_client_calls(policy: str, calls: int, scenario: SimScenario = OUTAGE,
                     rc_policy: rc.Policy | None = None) -> engine.Simulation:
    """``calls`` calls made one after another by one client of ``policy``."""
    sim = engine.Simulation(scenario, seed=3)
    client = fleets.client_factory(policy, rc_policy)(sim, random.Random(3))

    def caller():
        for _ in range(calls):
            sim.recorder.submitted(sim.env.now)
            ended = sim.env.event()
            client.start(sim, sim.env.now, ended.succeed)
            yield ended

    sim.env.process(caller())
    sim.env.run()
    return sim


def test_legacy_sends_dynamodbs_ten_attempts_with_botocores_fixed_doubling_backoff() -> None:
    sim = one_client_calls("legacy", 1)
    assert sim.recorder.total_attempts == 10
    # 0.05 s doubling, no jitter: 0.05 * (2**9 - 1) = 25.55 s of sleeping,
    # plus ten answers 10 ms each.
    assert sim.env.now == pytest.approx(25.55 + 10 * 0.01)


def test_standard_stops_retrying_when_the_clients_quota_is_spent() -> None:
    from botocore.retries.standard import RetryQuotaChecker

    sim = one_client_calls("standard", 80)
    # 500 tokens at botocore's retry cost (5; 14 with its newer retries), for
    # this client alone: retries stop when they are spent.
    cost = RetryQuotaChecker._RETRY_COST  # 14 from botocore 1.44 (its newer retries)
    if fleets._new_retries():
        cost = getattr(RetryQuotaChecker, "_RETRY_COST_V2", cost)  # 1.43's switchable constant
    assert sim.recorder.total_attempts == 80 + 500 // cost


def test_tenacity_around_legacy_multiplies_the_attempts() -> None:
    sim = one_client_calls("tenacity-naive", 1)
    assert sim.recorder.total_attempts == 5 * 10


def test_adaptive_holds_callers_in_botocores_rate_limiter_once_throttled() -> None:
    scenario = dataclasses.replace(
        OUTAGE, triggers=(Trigger("throttle", 0.0, 1000.0, share=0.5),), load=0.001
    )
    held = one_client_calls("adaptive", 300, scenario).recorder
    assert held.max_held > 0.5
    unheld = one_client_calls("standard", 300, scenario).recorder
    assert unheld.max_held == 0.0


def test_resilient_runs_its_breaker_and_budget_one_client_sends_little_in_an_outage() -> None:
    sim = one_client_calls("resilient", 200)
    assert sim.recorder.total_attempts / 200 <= 1.1
    # Without the breaker the retry budget bounds it: first attempts, 20% of
    # them, and the floor's reserve over the time the calls took.
    budget_only = rc.Policy(breaker=None)
    sim = one_client_calls("resilient", 200, rc_policy=budget_only)
    elapsed = sim.env.now
    assert 1.2 <= sim.recorder.total_attempts / 200 <= 1.2 + (10 + elapsed) / 200


def test_a_run_is_a_function_of_its_seed() -> None:
    scenario = SCENARIOS["capacity-drop"].sized(clients=60, duration=100.0)
    first = figures(engine.run(scenario, "resilient", seed=5))
    again = figures(engine.run(scenario, "resilient", seed=5))
    other = figures(engine.run(scenario, "resilient", seed=6))
    same = ("calls", "attempts", "success", "time_to_recover")
    assert {k: first[k] for k in same} == {k: again[k] for k in same}
    assert first["attempts"] != other["attempts"]


def test_an_unknown_policy_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'fastest'.*legacy"):
        fleets.client_factory("fastest")


def test_a_legacy_fleet_stays_collapsed_after_an_outage_a_resilient_fleet_recovers_from() -> None:
    # 60 s of 500s; the service then comes back at 30% of its capacity and
    # rises to all of it over 30 s, under a base load of 80%.
    scenario = SCENARIOS["outage-recovery"].sized(clients=200, duration=240.0)
    start, end = scenario.window
    legacy = figures(engine.run(scenario, "legacy", seed=1))
    resilient = figures(engine.run(scenario, "resilient", seed=1))
    # Metastable: the trigger is long gone, legacy's retries keep the queue
    # full of requests whose callers gave up.
    assert legacy["time_to_recover"] is None
    assert legacy["goodput_after"] < 0.05 and legacy["wasted_share"] > 0.5
    assert resilient["time_to_recover"] is not None
    assert resilient["time_to_recover"] <= 2 * (end - start)
    assert resilient["goodput_after"] > 0.8
    assert resilient["wasted_share"] < legacy["wasted_share"] / 5


def test_a_resilient_fleet_comes_back_without_overloading_the_recovering_service() -> None:
    scenario = SCENARIOS["outage-recovery"].sized(clients=1000, duration=200.0)
    resilient = figures(engine.run(scenario, "resilient", seed=2))
    standard = figures(engine.run(scenario, "standard", seed=2))
    # Attempts per second over the capacity of that second, after the outage
    # (1,000 clients: ~100 calls a second, so a margin for Poisson noise).
    assert resilient["peak_load_after"] <= 1.25
    assert standard["peak_load_after"] >= 2.0
