"""OpenTelemetry in the asyncio driver: hedge legs are tasks that run in the
call's span; a cancelled leg's span ends "cancelled"; a cancelled call's
span ends too."""

from __future__ import annotations

import asyncio

import resilient_cloud as rc

from ..otel import otel
from .test_aio_calls import KEY, Held, aio_session, eventually, policy, run

__all__ = ["otel"]


def test_a_hedge_task_runs_in_the_calls_span_and_the_cancelled_leg_says_so(otel) -> None:
    async def main() -> None:
        held = Held(hold={"us-east-1"})
        session = aio_session(policy=policy(hedge=rc.Hedge(delay=0.01)))
        session.register("before-send", held.answer)
        async with session.create_client(
            "dynamodb", region_name="us-east-1", fallback_regions=["us-west-2"]
        ) as ddb:
            await ddb.get_item(TableName="t", Key=KEY)

    run(main)
    [call] = otel.spans("INTERNAL")
    assert dict(call.attributes)["resilient_cloud.hedged"] is True
    assert dict(call.attributes)["resilient_cloud.region.served"] == "us-west-2"
    legs = {dict(s.attributes)["cloud.region"]: s for s in otel.spans("CLIENT")}
    assert set(legs) == {"us-east-1", "us-west-2"}
    assert all(s.parent.span_id == call.context.span_id for s in legs.values())
    assert dict(legs["us-east-1"].attributes)["resilient_cloud.attempt.outcome"] == "cancelled"
    assert dict(legs["us-west-2"].attributes)["resilient_cloud.attempt.outcome"] == "success"
    assert otel.total("resilient_cloud.hedge.wins") == 1


def test_a_cancelled_call_ends_its_span(otel) -> None:
    async def main() -> None:
        held = Held(hold={"us-east-1"})
        session = aio_session(policy=policy())
        session.register("before-send", held.answer)
        async with session.create_client("dynamodb", region_name="us-east-1") as ddb:
            call = asyncio.ensure_future(ddb.get_item(TableName="t", Key=KEY))
            await eventually(lambda: held.started == ["us-east-1"])
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)

    run(main)
    [call] = otel.spans("INTERNAL")
    assert call.status.status_code.name == "ERROR"
    assert call.status.description == "CancelledError"
    [leg] = otel.spans("CLIENT")
    assert dict(leg.attributes)["resilient_cloud.attempt.outcome"] == "cancelled"
    assert dict(call.attributes)["resilient_cloud.outcome"] == "cancelled"
    assert "resilient_cloud.stop_reason" not in dict(call.attributes)
    assert otel.total("resilient_cloud.calls", **{"resilient_cloud.outcome": "cancelled"}) == 1
