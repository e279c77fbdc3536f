"""Drop-in: managed clients behave as botocore's, minus the stacked retries."""

from __future__ import annotations

import json
import logging
import random
from unittest import mock

import boto3
import pytest
from botocore.client import BaseClient, Config
from botocore.exceptions import ClientError
from botocore.retries.adaptive import ClientRateLimiter
from botocore.stub import Stubber

import resilient_cloud as rc
from resilient_cloud._botocore.client import runtime_of
from resilient_cloud.testing import FakeClock, Reply, ScriptedResponses

from .replies import DDB_500, DDB_EMPTY, DDB_ITEM

KEY = {"pk": {"S": "1"}}


@pytest.mark.sync_only("tests/aio checks aiobotocore's own classes")
def test_clients_are_real_botocore_clients(make_client) -> None:
    client = make_client()
    assert isinstance(client, BaseClient)
    assert type(client).__name__ == "DynamoDB"
    assert client.meta.region_name == "us-east-1"
    assert client.exceptions.ResourceNotFoundException.__name__ == "ResourceNotFoundException"


def test_stubber_behaves_as_before(make_client) -> None:
    client = make_client()
    with Stubber(client) as stubber:
        stubber.add_client_error("get_item", "InternalServerError", http_status_code=500)
        stubber.add_response("get_item", {"Item": KEY})
        with pytest.raises(ClientError):  # botocore never retries stubbed answers
            client.get_item(TableName="t", Key=KEY)
        assert client.get_item(TableName="t", Key=KEY)["Item"] == KEY
        stubber.assert_no_pending_responses()


@pytest.mark.sync_only("aiobotocore paginators are async iterators: tests/aio")
def test_paginators_and_waiters_go_through_the_pipeline(make_client) -> None:
    client = make_client()
    page1 = Reply(200, json.dumps({"TableNames": ["aaa"], "LastEvaluatedTableName": "aaa"}).encode())
    page2 = Reply(200, json.dumps({"TableNames": ["bbb"]}).encode())
    script = ScriptedResponses(client, [DDB_500, page1, page2])
    names = [n for page in client.get_paginator("list_tables").paginate() for n in page["TableNames"]]
    assert names == ["aaa", "bbb"] and len(script) == 3

    active = Reply(200, json.dumps({"Table": {"TableName": "t", "TableStatus": "ACTIVE"}}).encode())
    script = ScriptedResponses(client, [DDB_500, active])
    client.get_waiter("table_exists").wait(TableName="t")
    assert script.operations == ["DescribeTable", "DescribeTable"]


def test_resources_are_built_on_resilient_clients(clock) -> None:
    session = rc.Session(region_name="us-east-1", policy=rc.Policy(clock=clock))
    table = session.resource("dynamodb").Table("t")
    script = ScriptedResponses(table.meta.client, [DDB_500, DDB_ITEM])
    assert table.get_item(Key={"pk": "1"})["Item"] == {"pk": "1"}
    assert len(script) == 2
    assert runtime_of(table.meta.client) is not None


def test_botocores_own_retry_handler_is_removed() -> None:
    # A plain DynamoDB client (legacy mode) would send 10 requests.
    client = rc.wrap(boto3.client("dynamodb", region_name="us-east-1"), policy=rc.Policy(retry=None))
    script = ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(ClientError):
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == 1


@pytest.mark.parametrize(
    ("config", "env", "expected"),
    [
        (Config(retries={"total_max_attempts": 2}), {}, 2),
        (Config(retries={"max_attempts": 2, "mode": "standard"}), {}, 3),  # retries + 1
        (None, {"AWS_MAX_ATTEMPTS": "3", "AWS_RETRY_MODE": "standard"}, 3),
        (None, {}, 4),  # our default
    ],
    ids=["total_max_attempts", "max_attempts", "environment", "default"],
)
def test_botocore_retry_settings_are_translated(monkeypatch, clock, config, env, expected) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = rc.wrap(
        boto3.client("dynamodb", region_name="us-east-1", config=config),
        policy=rc.Policy(clock=clock),
    )
    script = ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(ClientError):
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == expected


def test_profile_max_attempts_is_translated(monkeypatch, tmp_path, clock) -> None:
    config_file = tmp_path / "config"
    config_file.write_text("[default]\nmax_attempts = 2\nretry_mode = standard\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    client = rc.Session(region_name="us-east-1", policy=rc.Policy(clock=clock)).client("dynamodb")
    script = ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(ClientError):
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == 2


def test_explicit_policy_attempts_win_over_botocore_config(clock) -> None:
    client = rc.wrap(
        boto3.client("dynamodb", region_name="us-east-1", config=Config(retries={"total_max_attempts": 9})),
        policy=rc.Policy(clock=clock, retry=rc.Retry(max_attempts=2)),
    )
    script = ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(ClientError):
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == 2


def test_adaptive_mode_keeps_its_client_side_rate_limiter(clock) -> None:
    with mock.patch.object(
        ClientRateLimiter, "on_sending_request", autospec=True, return_value=None
    ) as limiter:
        client = rc.wrap(
            boto3.client("dynamodb", region_name="us-east-1", config=Config(retries={"mode": "adaptive"})),
            policy=rc.Policy(clock=clock),
        )
        script = ScriptedResponses(client, [DDB_500, DDB_ITEM])
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == 2
    assert limiter.call_count == 2  # botocore's limiter saw each of our attempts


def test_off_switch_leaves_plain_botocore(monkeypatch) -> None:
    monkeypatch.setenv("RESILIENT_CLOUD_DISABLED", "1")
    client = rc.Session(region_name="us-east-1").client(
        "dynamodb", config=Config(retries={"total_max_attempts": 2})
    )
    assert runtime_of(client) is None
    script = ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(ClientError) as caught:
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == 2  # botocore's own legacy retry, untouched
    assert rc.stop_details(caught.value) is None


def test_wrapping_again_replaces_the_policy(clock) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    rc.wrap(client, policy=rc.Policy(clock=clock, retry=rc.Retry(max_attempts=5)))
    first_class = type(client)
    assert rc.wrap(client, policy=rc.Policy(clock=clock, retry=rc.Retry(max_attempts=2))) is client
    assert type(client) is first_class
    script = ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(ClientError):
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == 2


def test_wrap_accepts_a_resource_and_rejects_other_things(clock) -> None:
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    assert rc.wrap(resource, policy=rc.Policy(clock=clock)) is resource
    assert runtime_of(resource.meta.client) is not None
    with pytest.raises(TypeError, match="takes a botocore/boto3 client"):
        rc.wrap(object())
    with pytest.raises(TypeError, match="policy must be a resilient_cloud.Policy"):
        rc.wrap(boto3.client("s3"), policy={"retry": None})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="policy must be a resilient_cloud.Policy"):
        rc.Session(policy="defaults")  # type: ignore[arg-type]


def test_fallback_regions_are_checked_against_partition_data() -> None:
    session = rc.Session(region_name="us-east-1")
    client = session.client("dynamodb", fallback_regions=["us-west-2", "eu-west-1"])
    assert runtime_of(client).fallback_regions == ("us-west-2", "eu-west-1")
    with pytest.raises(ValueError, match="'us-wset-2' is not a region botocore knows for dynamodb"):
        session.client("dynamodb", fallback_regions=["us-wset-2"])
    with pytest.raises(ValueError, match="'cn-north-1' is in partition 'aws-cn', not the client's 'aws'"):
        session.client("dynamodb", fallback_regions=["cn-north-1"])
    with pytest.raises(ValueError, match="the client's own region"):
        session.client("dynamodb", fallback_regions=["us-east-1"])
    with pytest.raises(TypeError, match="not a string"):
        session.client("dynamodb", fallback_regions="us-west-2")


def test_hooks_see_every_decision_and_a_failing_hook_is_harmless(caplog) -> None:
    seen = []

    def broken(event):
        raise RuntimeError("hook bug")

    client = rc.Session(region_name="us-east-1").client(
        "dynamodb",
        policy=rc.Policy(clock=FakeClock(), random=random.Random(3), hooks=(broken, seen.append)),
    )
    ScriptedResponses(client, [DDB_500, DDB_EMPTY])
    with caplog.at_level(logging.WARNING, logger="resilient_cloud"):
        client.get_item(TableName="t", Key=KEY)
    kinds = [type(e).__name__ for e in seen]
    assert kinds == [
        "AttemptStarted",
        "AttemptEnded",
        "RetryScheduled",
        "AttemptStarted",
        "AttemptEnded",
        "CallEnded",
    ]
    assert seen[1].outcome == "server-error" and seen[1].error == "InternalServerError"
    assert seen[2].delay >= 0 and seen[2].budget_cost == 1.0
    assert seen[-1].succeeded and seen[-1].attempts == 2
    assert any("hook" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)


def test_events_and_notes_carry_no_parameters(make_client, events) -> None:
    client = make_client()
    ScriptedResponses(client, [], then=DDB_500)
    secret = "s3cr3t-value"
    with pytest.raises(ClientError) as caught:
        client.put_item(TableName="t", Item={"pk": {"S": secret}})
    assert all(secret not in repr(event) for event in events)
    assert secret not in " ".join(caught.value.__notes__)
