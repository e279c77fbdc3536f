"""Our backoff, as a tenacity wait strategy.

tenacity stays the language of waits: ``rc.Retry(wait=...)`` takes any
tenacity wait, and the call core asks ours or the user's the same way,
with a ``RetryCallState`` whose first argument is the call.
"""

from __future__ import annotations

import random

from tenacity import RetryCallState
from tenacity.wait import wait_base

from resilient_cloud._call import call_of


class wait_full_jitter(wait_base):
    """``uniform(0, min(cap, base * 2**(n-1)))`` before retry ``n``, drawn from
    an injected generator; throttled attempts use ``throttle_base``."""

    def __init__(
        self, base: float, throttle_base: float, cap: float, rng: random.Random
    ) -> None:
        self.base = base
        self.throttle_base = throttle_base
        self.cap = cap
        self.rng = rng

    def upper_bound(self, attempt: int, throttled: bool) -> float:
        base = self.throttle_base if throttled else self.base
        exponent = min(attempt - 1, 64)  # 2**64 * base is past any cap
        return min(self.cap, base * 2.0**exponent)

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = call_of(retry_state).outcome
        throttled = outcome is not None and outcome.throttled
        return self.rng.uniform(0.0, self.upper_bound(retry_state.attempt_number, throttled))
