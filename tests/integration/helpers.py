"""Helpers shared by the integration tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.config import Config

ClientFactory = Callable[..., Any]


@contextlib.contextmanager
def closing_clients(default_config: Config | None = None) -> Iterator[ClientFactory]:
    """boto3 clients over plain HTTP, closed on exit (no socket left open)."""
    made: list[Any] = []

    def make(service: str, region: str = "us-east-1", config: Config | None = default_config) -> Any:
        client = boto3.client(
            service,
            region_name=region,
            use_ssl=False,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )
        made.append(client)
        return client

    try:
        yield make
    finally:
        for client in made:
            client.close()


def create_table(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
