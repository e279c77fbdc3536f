"""The generated client overloads (tools/gen_client_overloads.py) match what
the generator writes for the services they name, name only services botocore
still has, and pass only parameters boto3 and aiobotocore still take. A newer
botocore's new services are allowed to be missing: their names fall to the
catch-all overload (``BaseClient``) until the files are regenerated."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import inspect
import re
import sys
from pathlib import Path

import boto3.session
import botocore
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import gen_client_overloads as gen  # noqa: E402

sys.path.remove(str(ROOT / "tools"))


def _named(text: str, protocol: str) -> list[str]:
    body = text.split(f"class {protocol}(Protocol):", 1)[1].split("\nclass ", 1)[0]
    return re.findall(r'service_name: Literal\["([^"]+)"\]', body)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_generated_files_are_what_the_generator_writes() -> None:
    sync_text = gen.SYNC_PATH.read_text()
    generated_from = gen.GENERATED_FROM.read_text().strip()
    if _version(botocore.__version__) < _version(generated_from):
        pytest.skip(f"generated from botocore {generated_from}'s services; {botocore.__version__} "
                    "is older and lacks some of them")
    services = _named(sync_text, "SessionClient")
    resources = _named(sync_text, "SessionResource")
    gone = sorted(set(services) - set(gen.available_services()))
    assert not gone, f"botocore no longer has {gone}: run tools/gen_client_overloads.py"
    assert set(resources) <= set(gen.available_resources())
    assert services == sorted(services) and len(services) > 400
    assert {"dynamodb", "s3"} <= set(resources)
    for path, text in gen.render(services, resources).items():
        assert path.read_text() == text, f"{path.name} is stale: run tools/gen_client_overloads.py"


def test_the_overloads_pass_only_parameters_upstream_takes() -> None:
    ours = [name for name, _ in (*gen._SHARED, ("config", ""), gen._ACCOUNT)]
    for method, theirs in ((boto3.session.Session.client, ours), (boto3.session.Session.resource, ours[:-1])):
        upstream = list(inspect.signature(method).parameters)
        assert upstream[2 : 2 + len(theirs)] == theirs, method  # after self, service_name: same order
    if importlib.util.find_spec("aiobotocore") is not None:
        from aiobotocore.session import AioSession

        upstream = list(inspect.signature(AioSession._create_client).parameters)
        assert upstream[2 : 2 + len(ours)] == ours


def test_the_overloads_are_stubs_only() -> None:
    # Nothing to import at run time: they cost importers of resilient_cloud nothing.
    # Looked up in each package's folder: importing resilient_cloud.aio needs the aio extra.
    for stub in (gen.SYNC_PATH, gen.AIO_PATH):
        assert importlib.machinery.PathFinder.find_spec(stub.stem, [str(stub.parent)]) is None
    assert gen.SYNC_PATH.exists() and gen.AIO_PATH.exists()


@pytest.mark.parametrize("service", ["dynamodb", "acm-pca", "drs"])
def test_class_names_follow_the_stub_packages(service: str) -> None:
    # types-boto3 upper-cases the first letter of botocore's module name (drs: DrsClient).
    expected = {"dynamodb": "DynamoDBClient", "acm-pca": "ACMPCAClient", "drs": "DrsClient"}
    assert gen.client_names([service]) == {service: expected[service]}
