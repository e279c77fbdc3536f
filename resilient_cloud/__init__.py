"""resilient_cloud: boto3/botocore clients that survive cloud incidents
without making them worse.

::

    import resilient_cloud as rc

    session = rc.Session(region_name="us-east-1")
    ddb = session.client("dynamodb")          # a real botocore client
    ddb.get_item(TableName="t", Key={"pk": {"S": "1"}})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resilient_cloud import hooks, testing
from resilient_cloud._clock import SYSTEM_CLOCK, Clock, SystemClock
from resilient_cloud._health import EndpointHealth, health
from resilient_cloud._options import (
    Bulkhead,
    CircuitBreaker,
    DnsCache,
    Failover,
    Hedge,
    Policy,
    RateLimiter,
    Retry,
    RetryBudget,
)
from resilient_cloud._safety import Safety
from resilient_cloud._session import Session
from resilient_cloud._wrap import wrap
from resilient_cloud.errors import (
    BulkheadFullError,
    CircuitOpenError,
    DeadlineExceededError,
    RateLimitedError,
    ResilienceError,
    StopDetails,
    StopReason,
    stop_details,
)

__all__ = [
    "Bulkhead",
    "BulkheadFullError",
    "CircuitBreaker",
    "CircuitOpenError",
    "Clock",
    "DeadlineExceededError",
    "DnsCache",
    "EndpointHealth",
    "Failover",
    "Hedge",
    "Policy",
    "RateLimitedError",
    "RateLimiter",
    "ResilienceError",
    "Retry",
    "RetryBudget",
    "SYSTEM_CLOCK",
    "Safety",
    "Session",
    "StopDetails",
    "StopReason",
    "SystemClock",
    "__version__",
    "health",
    "hooks",
    "stop_details",
    "testing",
    "wrap",
]

for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, type) and _obj.__module__.startswith("resilient_cloud._"):
        _obj.__module__ = "resilient_cloud"
del _name, _obj

if TYPE_CHECKING:  # at run time, __getattr__ imports it on first use
    from resilient_cloud import aio as aio

    __version__: str


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("resilient-cloud")
    if name == "aio":  # needs aiohttp: imported on first use only
        import importlib

        return importlib.import_module("resilient_cloud.aio")
    raise AttributeError(f"module 'resilient_cloud' has no attribute {name!r}")
