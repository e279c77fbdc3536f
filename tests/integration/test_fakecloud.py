"""The fake cloud: real botocore clients, real hostnames, moto per region,
faults injected at the server edge."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from resilient_cloud.fakecloud import ERROR_KINDS, FakeCloud, Faults
from resilient_cloud.fakecloud._resolver import Resolver, parse_host, region_of
from tests.integration.helpers import ClientFactory, closing_clients, create_table

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
TABLE = "items"


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    with closing_clients() as make:
        yield make


def _get(ddb: Any, pk: str = "1") -> dict[str, Any] | None:
    item: dict[str, Any] | None = ddb.get_item(TableName=TABLE, Key={"pk": {"S": pk}}).get("Item")
    return item


# --------------------------------------------------------------------------
# Hostname parsing and the resolver hook (no servers)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostname", "region"),
    [
        ("dynamodb.us-east-1.amazonaws.com", "us-east-1"),
        ("dynamodb.eu-west-1.amazonaws.com", "eu-west-1"),
        ("DynamoDB.US-WEST-2.amazonaws.com.", "us-west-2"),
        ("dynamodb-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("123456789012.ddb.us-west-2.amazonaws.com", "us-west-2"),
        ("s3.amazonaws.com", "us-east-1"),
        ("my-bucket.s3.amazonaws.com", "us-east-1"),
        ("my.dotted.bucket.s3.amazonaws.com", "us-east-1"),
        ("s3.us-west-2.amazonaws.com", "us-west-2"),
        ("my-bucket.s3.ap-southeast-2.amazonaws.com", "ap-southeast-2"),
        ("my-bucket.s3-eu-west-1.amazonaws.com", "eu-west-1"),
        ("s3-external-1.amazonaws.com", "us-east-1"),
        ("s3.dualstack.us-east-2.amazonaws.com", "us-east-2"),
        ("sts.amazonaws.com", "us-east-1"),
        ("iam.amazonaws.com", "us-east-1"),
        ("sts.eu-central-1.amazonaws.com", "eu-central-1"),
        ("localhost", None),
        ("127.0.0.1", None),
        ("example.com", None),
        ("amazonaws.com", None),
        ("unknown-global.amazonaws.com", None),
        ("us-east-1.amazonaws.com", None),
        ("dynamodb.us-east-1.amazonaws.com.cn", None),
    ],
)
def test_region_of_every_name_form(hostname: str, region: str | None) -> None:
    assert region_of(hostname) == region


@pytest.mark.parametrize(
    ("hostname", "service"),
    [
        ("dynamodb.us-east-1.amazonaws.com", "dynamodb"),
        ("123456789012.ddb.us-east-1.amazonaws.com", "dynamodb"),
        ("my-bucket.s3.amazonaws.com", "s3"),
        ("my-bucket.s3-eu-west-1.amazonaws.com", "s3"),
        ("s3.dualstack.us-east-2.amazonaws.com", "s3"),
        ("sts.amazonaws.com", "sts"),
    ],
)
def test_parse_host_names_the_service(hostname: str, service: str) -> None:
    info = parse_host(hostname)
    assert info is not None and info.service == service


def test_resolver_maps_aws_names_and_passes_everything_else_through() -> None:
    original = socket.getaddrinfo
    expected_localhost = socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
    resolver = Resolver({"us-east-1": ("127.0.0.2", 4567)})
    with resolver:
        assert socket.getaddrinfo is not original
        answer = socket.getaddrinfo("dynamodb.us-east-1.amazonaws.com", 80)
        assert answer == [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.2", 4567))
        ]
        assert socket.getaddrinfo("my-bucket.s3.amazonaws.com", 443, socket.AF_INET)[0][4] == (
            "127.0.0.2",
            4567,
        )
        with pytest.raises(socket.gaierror) as excinfo:
            socket.getaddrinfo("dynamodb.eu-west-1.amazonaws.com", 80)
        assert excinfo.value.errno == socket.EAI_NONAME
        assert "eu-west-1" in str(excinfo.value)
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("unknown-global.amazonaws.com", 80)
        assert socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM) == expected_localhost
        with resolver:  # re-entrant
            assert socket.getaddrinfo("s3.amazonaws.com", 80)[0][4] == ("127.0.0.2", 4567)
        assert resolver.installed
    assert socket.getaddrinfo is original
    assert not resolver.installed
    with pytest.raises(RuntimeError, match="not installed"):
        resolver.uninstall()


# --------------------------------------------------------------------------
# Faults validation (no servers)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"error_rate": 1.5}, ValueError, "error_rate must be between 0 and 1, got 1.5"),
        ({"error_rate": -0.1}, ValueError, "error_rate must be between 0 and 1"),
        ({"error_rate": float("nan")}, ValueError, "error_rate must be finite"),
        ({"error_rate": "0.5"}, TypeError, "error_rate must be a number"),
        ({"error_rate": True}, TypeError, "error_rate must be a number"),
        ({"latency": -1}, ValueError, "latency must be >= 0"),
        ({"latency": float("inf")}, ValueError, "latency must be finite"),
        ({"error_kind": "Nope"}, ValueError, "error_kind must be one of InternalServerError, "),
        ({"error_kind": 500}, TypeError, "error_kind must be a str"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
    ],
)
def test_faults_reject_bad_values(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")):
        Faults(**kwargs)


def test_unknown_error_kind_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError) as excinfo:
        Faults(error_kind="Nope")
    for kind in ERROR_KINDS:
        assert kind in str(excinfo.value)


def test_error_kinds_table() -> None:
    assert {name: kind.status for name, kind in ERROR_KINDS.items()} == {
        "InternalServerError": 500,
        "ProvisionedThroughputExceededException": 400,
        "ThrottlingException": 400,
        "ServiceUnavailable": 503,
        "SlowDown": 503,
        "InternalError": 500,
    }


def test_faults_normalise_numbers() -> None:
    assert Faults(error_rate=1, latency=0) == Faults(error_rate=1.0, latency=0.0)


# --------------------------------------------------------------------------
# Real clients against the servers
# --------------------------------------------------------------------------


@pytest.mark.integration
def test_dynamodb_through_real_hostnames_with_state_per_region(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    east = make_client("dynamodb", "us-east-1")
    west = make_client("dynamodb", "us-west-2")
    assert east.meta.endpoint_url == "http://dynamodb.us-east-1.amazonaws.com"

    create_table(east, TABLE)
    east.put_item(TableName=TABLE, Item={"pk": {"S": "1"}, "v": {"S": "east"}})
    assert _get(east) == {"pk": {"S": "1"}, "v": {"S": "east"}}

    # Same table name in us-west-2: a different server, so a different table.
    with pytest.raises(ClientError) as excinfo:
        _get(west)
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    create_table(west, TABLE)
    assert _get(west) is None
    assert east.list_tables()["TableNames"] == [TABLE]

    assert cloud.stats("us-east-1")["by_service"] == {"dynamodb": 4}
    assert cloud.stats("us-west-2")["by_service"] == {"dynamodb": 3}


@pytest.mark.integration
def test_s3_global_virtual_host_and_path_style(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    s3 = make_client("s3", "us-east-1")
    s3.create_bucket(Bucket="east-bucket")  # us-east-1: no LocationConstraint
    s3.put_object(Bucket="east-bucket", Key="k", Body=b"hello")
    assert s3.get_object(Bucket="east-bucket", Key="k")["Body"].read() == b"hello"
    # A key that looks like the control API still reaches moto.
    s3.put_object(Bucket="east-bucket", Key="_fakecloud/faults", Body=b"data")
    assert s3.get_object(Bucket="east-bucket", Key="_fakecloud/faults")["Body"].read() == b"data"

    path_style = make_client("s3", "us-east-1", Config(s3={"addressing_style": "path"}))
    assert path_style.meta.endpoint_url == "http://s3.amazonaws.com"
    assert path_style.get_object(Bucket="east-bucket", Key="k")["Body"].read() == b"hello"

    west = make_client("s3", "us-west-2")
    west.create_bucket(
        Bucket="west-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    west.put_object(Bucket="west-bucket", Key="k", Body=b"west")
    assert west.get_object(Bucket="west-bucket", Key="k")["Body"].read() == b"west"

    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["east-bucket"]
    assert cloud.stats("us-west-2")["by_service"] == {"s3": 3}


_DYNAMODB_KINDS = [
    ("InternalServerError", 500),
    ("ProvisionedThroughputExceededException", 400),
    ("ThrottlingException", 400),
    ("ServiceUnavailable", 503),
    ("SlowDown", 503),  # an S3 code on DynamoDB: DynamoDB's JSON form
]


@pytest.mark.integration
@pytest.mark.parametrize(("kind", "status"), _DYNAMODB_KINDS)
def test_dynamodb_error_kinds_as_botocore_sees_them(
    cloud: FakeCloud, make_client: ClientFactory, kind: str, status: int
) -> None:
    ddb = make_client("dynamodb", "us-east-1", NO_RETRY)
    cloud.set_faults("us-east-1", Faults(error_rate=1.0, error_kind=kind), service="dynamodb")
    with pytest.raises(ClientError) as excinfo:
        ddb.list_tables()
    response = excinfo.value.response
    assert response["Error"]["Code"] == kind
    assert response["Error"]["Message"] == ERROR_KINDS[kind].message
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert response["ResponseMetadata"]["RequestId"] == headers["x-amzn-requestid"]
    assert len(headers["x-amzn-requestid"]) == 52
    assert cloud.stats("us-east-1")["outcomes"] == {kind: 1}


@pytest.mark.integration
@pytest.mark.parametrize(
    ("kind", "status"),
    [("SlowDown", 503), ("InternalError", 500), ("ThrottlingException", 400)],
)
def test_s3_error_kinds_as_botocore_sees_them(
    cloud: FakeCloud, make_client: ClientFactory, kind: str, status: int
) -> None:
    s3 = make_client("s3", "us-east-1", NO_RETRY)
    s3.create_bucket(Bucket="faulty-bucket")
    cloud.set_faults("us-east-1", Faults(error_rate=1.0, error_kind=kind), service="s3")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="faulty-bucket", Key="k")
    response = excinfo.value.response
    assert response["Error"] == {"Code": kind, "Message": ERROR_KINDS[kind].message}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/xml"
    assert response["ResponseMetadata"]["RequestId"] == headers["x-amz-request-id"]
    assert response["ResponseMetadata"]["HostId"] == headers["x-amz-id-2"]


@pytest.mark.integration
def test_faults_stay_in_their_region_and_service(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.set_faults("us-east-1", Faults(error_rate=1.0), service="dynamodb")
    with pytest.raises(ClientError):
        make_client("dynamodb", "us-east-1", NO_RETRY).list_tables()
    make_client("dynamodb", "us-west-2", NO_RETRY).list_tables()
    make_client("s3", "us-east-1", NO_RETRY).list_buckets()

    # Region-wide faults apply to every service unless it has its own entry.
    cloud.set_faults("us-west-2", Faults(error_rate=1.0, error_kind="ServiceUnavailable"))
    cloud.set_faults("us-west-2", Faults(), service="s3")
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        make_client("dynamodb", "us-west-2", NO_RETRY).list_tables()
    make_client("s3", "us-west-2", NO_RETRY).list_buckets()

    cloud.clear_faults("us-east-1")
    make_client("dynamodb", "us-east-1", NO_RETRY).list_tables()
    with pytest.raises(ClientError):
        make_client("dynamodb", "us-west-2", NO_RETRY).list_tables()
    cloud.clear_faults()
    make_client("dynamodb", "us-west-2", NO_RETRY).list_tables()


@pytest.mark.integration
def test_seeded_error_rate_gives_about_half_errors_and_exact_stats(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    ddb = make_client("dynamodb", "us-east-1", NO_RETRY)

    def run(n: int) -> list[bool]:
        failed = []
        for _ in range(n):
            try:
                ddb.list_tables()
                failed.append(False)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "InternalServerError"
                failed.append(True)
        return failed

    cloud.set_faults("us-east-1", Faults(error_rate=0.5, seed=7))
    first = run(200)
    errors = sum(first)
    assert 70 <= errors <= 130
    stats = cloud.stats("us-east-1")
    assert stats["requests"] == 200
    assert stats["outcomes"] == {"ok": 200 - errors, "InternalServerError": errors}
    assert stats["by_service"] == {"dynamodb": 200}
    assert stats["by_status"] == {200: 200 - errors, 500: errors}

    # The same seed replays the same sequence.
    cloud.set_faults("us-east-1", Faults(error_rate=0.5, seed=7))
    assert run(50) == first[:50]

    cloud.reset_stats()
    assert cloud.stats("us-east-1")["requests"] == 0


@pytest.mark.integration
def test_latency_delays_each_request(cloud: FakeCloud, make_client: ClientFactory) -> None:
    ddb = make_client("dynamodb", "us-east-1", NO_RETRY)
    ddb.list_tables()  # connection and backend warm
    cloud.set_faults("us-east-1", Faults(latency=0.3))
    started = time.monotonic()
    ddb.list_tables()
    assert time.monotonic() - started >= 0.3
    # Latency and errors combine: the error arrives late, too.
    cloud.set_faults("us-east-1", Faults(latency=0.2, error_rate=1.0), service="dynamodb")
    started = time.monotonic()
    with pytest.raises(ClientError):
        ddb.list_tables()
    assert time.monotonic() - started >= 0.2


@pytest.mark.integration
def test_injected_errors_never_reach_moto(cloud: FakeCloud, make_client: ClientFactory) -> None:
    ddb = make_client("dynamodb", "us-east-1", NO_RETRY)
    create_table(ddb, TABLE)
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "1"}, "v": {"S": "before"}})
    cloud.reset_stats()

    unavailable = Faults(error_rate=1.0, error_kind="ServiceUnavailable")
    cloud.set_faults("us-east-1", unavailable, service="dynamodb")
    for n in range(20):
        with pytest.raises(ClientError):
            ddb.put_item(TableName=TABLE, Item={"pk": {"S": "1"}, "v": {"S": f"after-{n}"}})
    with pytest.raises(ClientError):
        ddb.delete_table(TableName=TABLE)
    cloud.clear_faults()

    assert _get(ddb) == {"pk": {"S": "1"}, "v": {"S": "before"}}
    assert cloud.stats("us-east-1")["outcomes"] == {"ServiceUnavailable": 21, "ok": 1}


@pytest.mark.integration
def test_keep_alive_reuses_one_connection(cloud: FakeCloud, make_client: ClientFactory) -> None:
    ddb = make_client("dynamodb", "us-east-1", NO_RETRY)
    cloud.set_faults("us-east-1", Faults(error_rate=0.5, seed=1))
    for _ in range(10):
        try:
            response = ddb.list_tables()
        except ClientError as exc:
            response = exc.response
        assert response["ResponseMetadata"]["HTTPHeaders"].get("connection") != "close"
    stats = cloud.stats("us-east-1")
    assert stats["requests"] == 10
    assert stats["connections"] == 1


@pytest.mark.integration
def test_reset_state_wipes_moto_data(cloud: FakeCloud, make_client: ClientFactory) -> None:
    ddb = make_client("dynamodb", "us-west-2")
    create_table(ddb, TABLE)
    cloud.reset_state("us-west-2")
    assert ddb.list_tables()["TableNames"] == []


@pytest.mark.integration
def test_unserved_region_fails_like_nxdomain(cloud: FakeCloud, make_client: ClientFactory) -> None:
    ddb = make_client("dynamodb", "eu-west-1", NO_RETRY)
    with pytest.raises(EndpointConnectionError):
        ddb.list_tables()


@pytest.mark.integration
def test_resolver_passes_other_names_through(cloud: FakeCloud) -> None:
    # cloud fixture has the resolver installed.
    ip, port = cloud.address("us-west-2")
    assert (ip, port) == ("127.0.0.3", port)
    assert socket.getaddrinfo("dynamodb.us-west-2.amazonaws.com", 80)[0][4] == (ip, port)
    resolver = cloud.resolver()
    resolver.uninstall()
    try:
        expected = socket.getaddrinfo("localhost", 8080, type=socket.SOCK_STREAM)
    finally:
        resolver.install()
    assert socket.getaddrinfo("localhost", 8080, type=socket.SOCK_STREAM) == expected


@pytest.mark.integration
def test_bad_control_input_raises_clear_errors(cloud: FakeCloud) -> None:
    message = r"unknown region 'eu-west-9'; this fake cloud serves us-east-1, us-west-2"
    with pytest.raises(ValueError, match=message):
        cloud.set_faults("eu-west-9", Faults())
    for call in (
        lambda: cloud.address("eu-west-9"),
        lambda: cloud.stats("eu-west-9"),
        lambda: cloud.clear_faults("eu-west-9"),
        lambda: cloud.reset_stats("eu-west-9"),
        lambda: cloud.reset_state("eu-west-9"),
    ):
        with pytest.raises(ValueError, match="eu-west-9"):
            call()
    with pytest.raises(TypeError, match="faults must be a Faults"):
        cloud.set_faults("us-east-1", {"error_rate": 1.0})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="service"):
        cloud.set_faults("us-east-1", Faults(), service="")
    # The server validates too (for other clients of the control API).
    with pytest.raises(ValueError, match="error_rate must be between 0 and 1, got 1.5"):
        cloud._control(
            "us-east-1", "POST", "/_fakecloud/faults", {"service": None, "error_rate": 1.5}
        )
    with pytest.raises(ValueError, match="error_kind must be one of"):
        cloud._control("us-east-1", "POST", "/_fakecloud/faults", {"error_kind": "Nope"})
    # Control traffic is not counted.
    assert cloud.stats("us-east-1")["requests"] == 0


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="connection must be one of"):
        FakeCloud(connection="sometimes")
    with pytest.raises(ValueError, match="not a region name: 'US East'"):
        FakeCloud(regions=("US East",))
    with pytest.raises(ValueError, match="unique"):
        FakeCloud(regions=("us-east-1", "us-east-1"))
    with pytest.raises(ValueError, match="at least one"):
        FakeCloud(regions=())


# --------------------------------------------------------------------------
# connection="close" and process lifetime
# --------------------------------------------------------------------------


@pytest.mark.integration
def test_connection_close_mode_then_close_stops_the_servers(make_client: ClientFactory) -> None:
    cloud = FakeCloud(regions=("eu-west-1",), connection="close")
    servers = list(cloud._servers.values())
    try:
        assert cloud.address("eu-west-1")[0] == "127.0.0.2"
        with cloud.resolver():
            ddb = make_client("dynamodb", "eu-west-1", NO_RETRY)
            for _ in range(5):
                headers = ddb.list_tables()["ResponseMetadata"]["HTTPHeaders"]
                assert headers["connection"] == "close"
            cloud.set_faults("eu-west-1", Faults(error_rate=1.0))
            with pytest.raises(ClientError) as excinfo:
                ddb.list_tables()
            headers = excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]
            assert headers["connection"] == "close"
        stats = cloud.stats("eu-west-1")
        assert stats["requests"] == 6
        assert stats["connections"] == 6  # the client had to reconnect every time
    finally:
        cloud.close()
    assert all(server.proc.poll() is not None for server in servers)
    assert cloud.closed
    cloud.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        cloud.stats("eu-west-1")


@pytest.mark.integration
def test_startup_timeout_reports_and_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    original = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> Any:
        proc = original(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    message = "fake cloud server for us-east-1 on 127.0.0.2 did not report its port in time"
    with pytest.raises(RuntimeError, match=message):
        FakeCloud(regions=("us-east-1",), startup_timeout=0.001)
    assert len(started) == 1
    assert started[0].poll() is not None


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie awaiting its reaper counts)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.integration
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_servers_exit_when_their_parent_is_killed() -> None:
    script = textwrap.dedent(
        """
        import json, time
        from resilient_cloud.fakecloud import FakeCloud
        cloud = FakeCloud(regions=("us-east-1", "us-west-2"))
        print(json.dumps(list(cloud.pids.values())), flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        ready, _, _ = select.select([parent.stdout], [], [], 30)
        assert ready, "the parent never reported its servers"
        pids = json.loads(parent.stdout.readline())
        assert len(pids) == 2 and not any(_gone(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)  # no atexit, no close(): only the pipe tells
        parent.wait(10)
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(pid) for pid in pids)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


# --------------------------------------------------------------------------
# The pytest plugin
# --------------------------------------------------------------------------


@pytest.mark.integration
def test_pytest_plugin_resets_between_tests(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nfakecloud_regions = us-east-1\nfilterwarnings = error\n"
    )
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["resilient_cloud.fakecloud.pytest_plugin"]\n'
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import boto3, pytest
            from botocore.config import Config
            from botocore.exceptions import ClientError
            from resilient_cloud.fakecloud import Faults

            def client():
                no_retry = Config(retries={"total_max_attempts": 1, "mode": "standard"})
                return boto3.client("dynamodb", use_ssl=False, config=no_retry)

            def test_first(fake_cloud):
                ddb = client()
                ddb.create_table(
                    TableName="t",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST",
                )
                fake_cloud.set_faults("us-east-1", Faults(error_rate=1.0))
                with pytest.raises(ClientError):
                    ddb.list_tables()
                fake_cloud.set_tcp("us-east-1", "reset")
                fake_cloud.set_dns("us-east-1", "nxdomain", service="s3")
                ddb.close()

            def test_second_sees_a_clean_cloud(fake_cloud):
                ddb = client()
                assert ddb.list_tables()["TableNames"] == []
                assert fake_cloud.stats("us-east-1")["outcomes"] == {"ok": 1}
                assert fake_cloud.tcp_mode("us-east-1") == "ok"
                assert fake_cloud.resolver().dns() == {}
                assert fake_cloud.resolver().lookups() == {"us-east-1": {"dynamodb": {"ok": 1}}}
                ddb.close()
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
