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
            yield sim.env.process(client.call(sim))

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
    sim = one_client_calls("standard", 80)
    # 500 tokens at 5 per retry: the first 50 calls get their 2 retries.
    assert sim.recorder.total_attempts == 50 * 3 + 30


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
