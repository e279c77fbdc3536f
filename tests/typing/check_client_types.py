"""Checked by mypy, never run (tests/unit/test_typing.py, .ci/run step 4).

Each ``assert_type`` fails if the type degrades to ``Any`` or to a base
class: the per-service overloads of ``rc.Session.client``, ``resource`` and
``rc.aio.Session.create_client`` (tools/gen_client_overloads.py) and the
type-preserving ``rc.wrap`` / ``rc.aio.wrap``. The ``# of:`` comments say
which API each assertion checks (tests/unit/test_typing.py degrades each). Needs types-boto3 and
types-aiobotocore with their dynamodb and s3 packages (the ``typing`` extra).
"""

from __future__ import annotations

import boto3
from aiobotocore.session import get_session
from botocore.client import BaseClient
from types_aiobotocore_dynamodb.client import DynamoDBClient as AioDynamoDBClient
from types_boto3_dynamodb.client import DynamoDBClient
from types_boto3_dynamodb.service_resource import DynamoDBServiceResource
from types_boto3_s3.client import S3Client
from typing_extensions import assert_type

import resilient_cloud as rc
from resilient_cloud._aiobotocore.session import ResilientClientCreatorContext


def sync_clients() -> None:
    session = rc.Session(region_name="us-east-1", policy=rc.Policy())
    assert_type(session.client("dynamodb"), DynamoDBClient)  # of: client
    assert_type(session.client("dynamodb", fallback_regions=["us-west-2"]), DynamoDBClient)  # of: client
    assert_type(  # of: client
        session.client(
            "dynamodb", "us-east-1", policy=rc.Policy(deadline=2.0),
            endpoint_urls={"us-west-2": "http://localhost:5000"},
        ),
        DynamoDBClient,
    )
    assert_type(session.client("s3"), S3Client)  # of: client
    assert_type(session.resource("dynamodb"), DynamoDBServiceResource)  # of: resource
    service: str = "dynamodb"
    assert_type(session.client(service), BaseClient)  # of: client-by-name (known only at run time)


def wrapped() -> None:
    assert_type(rc.wrap(boto3.client("dynamodb")), DynamoDBClient)  # of: wrap
    assert_type(rc.wrap(boto3.client("s3"), fallback_regions=["us-west-2"]), S3Client)  # of: wrap


async def async_clients() -> None:
    session = rc.aio.Session(policy=rc.Policy())
    context = session.create_client("dynamodb", fallback_regions=["us-west-2"])
    assert_type(context, ResilientClientCreatorContext[AioDynamoDBClient])  # of: aio
    async with context as client:
        assert_type(client, AioDynamoDBClient)  # of: aio
    async with rc.aio.get_session().create_client("dynamodb") as client:
        assert_type(client, AioDynamoDBClient)  # of: aio
    async with get_session().create_client("dynamodb") as plain:
        assert_type(rc.aio.wrap(plain), AioDynamoDBClient)  # of: wrap
