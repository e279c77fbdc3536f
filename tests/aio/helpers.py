"""Small helpers shared by the aiobotocore seam tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from resilient_cloud._dns.cache import Requester

REQUESTER = Requester((), "dynamodb", "us-east-1")
GET_ITEM = {"TableName": "t", "Key": {"pk": {"S": "1"}}}


@contextlib.asynccontextmanager
async def aio_client(
    endpoint_url: str, service: str = "dynamodb", region: str = "us-east-1", **config: Any
) -> AsyncIterator[Any]:
    """An entered aiobotocore client for ``endpoint_url``."""
    async with AioSession().create_client(
        service, region_name=region, endpoint_url=endpoint_url, config=AioConfig(**config)
    ) as client:
        yield client


class RecordingRuntime:
    """What ``install_async`` needs of a runtime, recording what it is asked."""

    def __init__(self, dns: Any = None) -> None:
        from resilient_cloud._clock import SYSTEM_CLOCK

        self.policy = _Policy(dns, SYSTEM_CLOCK)
        self.dns_requester = REQUESTER
        self.calls: list[str] = []
        self.closed = 0
        self.on_close: Any = None

    async def call_async(self, send: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        self.calls.append(operation_name)
        return await send(operation_name, dict(api_params))

    async def aclose(self) -> None:
        self.closed += 1
        if self.on_close is not None:
            self.on_close()


class _Policy:
    def __init__(self, dns: Any, clock: Any) -> None:
        self.dns = dns
        self.clock = clock
