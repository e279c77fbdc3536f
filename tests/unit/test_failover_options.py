"""Failover and Hedge options: validated when built, naming every bad field."""

from __future__ import annotations

import datetime

import pytest

import resilient_cloud as rc


def test_failover_defaults() -> None:
    failover = rc.Failover()
    assert failover == rc.Failover(
        writes=False, switch_after=3, stick_for=5.0, max_stick_for=60.0, probe_interval=1.0
    )
    assert rc.Policy().failover == failover  # on by default, for clients with fallback regions
    assert rc.Policy(failover=None).failover is None


def test_hedge_defaults_and_off_by_default() -> None:
    assert rc.Hedge() == rc.Hedge(
        delay=None, percentile=90.0, min_delay=0.005, max_delay=1.0, min_samples=20,
        max_concurrent=32,
    )
    assert rc.Policy().hedge is None


def test_failover_every_bad_value_in_one_message() -> None:
    with pytest.raises(ValueError) as caught:
        rc.Failover(switch_after=0, stick_for=-1, max_stick_for=-2, probe_interval=0)
    message = str(caught.value)
    assert message.startswith("invalid Failover: ")
    for problem in (
        "switch_after must be >= 1, got 0",
        "stick_for must be > 0, got -1.0",
        "max_stick_for must be > 0, got -2.0",
        "probe_interval must be > 0, got 0.0",
    ):
        assert problem in message


def test_failover_max_stick_for_is_not_below_stick_for() -> None:
    with pytest.raises(ValueError, match=r"max_stick_for must be >= stick_for \(10.0\), got 5.0"):
        rc.Failover(stick_for=10, max_stick_for=5)
    assert rc.Failover(stick_for=7, max_stick_for=7).max_stick_for == 7.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"switch_after": 1.5}, "switch_after must be an int, not float"),
        ({"switch_after": True}, "switch_after must be an int, not bool"),
        ({"stick_for": "5s"}, "stick_for must be a number of seconds or a timedelta, not str"),
        ({"max_stick_for": None}, "max_stick_for must be a number of seconds or a timedelta"),
        ({"probe_interval": [1]}, "probe_interval must be a number of seconds or a timedelta"),
        ({"writes": "PutItem"}, "writes must be a bool or a collection of operation names, not str"),
        ({"writes": None}, "writes must be a bool or a collection of operation names"),
        ({"writes": 1}, "writes must be a bool or a collection of operation names, not int"),
        ({"writes": ["PutItem", 3]}, "writes must be a bool or a collection of operation names"),
        ({"writes": [""]}, "writes must be a bool or a collection of operation names"),
    ],
)
def test_failover_wrong_types_raise_type_error_naming_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        rc.Failover(**kwargs)


def test_failover_type_errors_win_but_every_problem_is_named() -> None:
    with pytest.raises(TypeError) as caught:
        rc.Failover(switch_after=0, stick_for="x", writes="PutItem")
    message = str(caught.value)
    assert "writes must be" in message
    assert "stick_for must be a number of seconds" in message
    assert "switch_after must be >= 1, got 0" in message


def test_failover_durations_accept_timedeltas_and_become_floats() -> None:
    failover = rc.Failover(
        stick_for=datetime.timedelta(seconds=3), max_stick_for=datetime.timedelta(minutes=2),
        probe_interval=datetime.timedelta(milliseconds=500),
    )
    assert (failover.stick_for, failover.max_stick_for, failover.probe_interval) == (3.0, 120.0, 0.5)
    assert isinstance(rc.Failover(stick_for=2).stick_for, float)
    with pytest.raises(ValueError, match="stick_for must be finite"):
        rc.Failover(stick_for=float("nan"))


def test_failover_writes_become_a_frozen_set_and_options_stay_hashable() -> None:
    failover = rc.Failover(writes=["PutItem", "dynamodb.DeleteItem", "PutItem"])
    assert failover.writes == frozenset({"PutItem", "dynamodb.DeleteItem"})
    # Options are part of the registry key of the shared router.
    assert hash(failover) == hash(rc.Failover(writes={"dynamodb.DeleteItem", "PutItem"}))
    assert failover == rc.Failover(writes=("dynamodb.DeleteItem", "PutItem"))
    assert rc.Failover(writes=True) != rc.Failover(writes=False)


def test_allows_write_by_default_none() -> None:
    failover = rc.Failover()
    assert not failover.allows_write("dynamodb", "PutItem")
    assert not failover.allows_write("s3", "PutObject")


def test_allows_write_true_allows_every_write() -> None:
    failover = rc.Failover(writes=True)
    assert failover.allows_write("dynamodb", "PutItem")
    assert failover.allows_write("sqs", "SendMessage")


def test_allows_write_by_operation_name_or_service_qualified_name() -> None:
    failover = rc.Failover(writes={"PutItem", "dynamodb.DeleteItem"})
    assert failover.allows_write("dynamodb", "PutItem")
    assert failover.allows_write("dynamodb", "DeleteItem")
    assert not failover.allows_write("dynamodb", "UpdateItem")
    assert not failover.allows_write("s3", "DeleteItem")  # qualified for DynamoDB only
    assert not failover.allows_write("dynamodb", "putitem")  # names are exact
    assert not rc.Failover(writes=frozenset()).allows_write("dynamodb", "PutItem")
    assert not rc.Failover(writes={"s3.PutItem"}).allows_write("dynamodb", "PutItem")


def test_hedge_every_bad_value_in_one_message() -> None:
    with pytest.raises(ValueError) as caught:
        rc.Hedge(
            delay=-1, percentile=100, min_delay=0, max_delay=-1, min_samples=0, max_concurrent=0
        )
    message = str(caught.value)
    assert message.startswith("invalid Hedge: ")
    for problem in (
        "delay must be > 0, got -1.0",
        "percentile must be between 0 and 100 (exclusive), got 100.0",
        "min_delay must be > 0, got 0.0",
        "max_delay must be > 0, got -1.0",
        "min_samples must be >= 1, got 0",
        "max_concurrent must be >= 1, got 0",
    ):
        assert problem in message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delay": 0}, "delay must be > 0, got 0.0"),
        ({"percentile": 0}, "percentile must be between 0 and 100"),
        ({"percentile": 100.0}, "percentile must be between 0 and 100"),
        ({"percentile": float("inf")}, "percentile must be finite"),
        ({"min_delay": 2, "max_delay": 1}, r"max_delay must be >= min_delay \(2.0\), got 1.0"),
        ({"min_samples": 0}, "min_samples must be >= 1, got 0"),
        ({"max_concurrent": -1}, "max_concurrent must be >= 1, got -1"),
    ],
)
def test_hedge_ranges(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rc.Hedge(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delay": "50ms"}, "delay must be a number of seconds or a timedelta, not str"),
        ({"percentile": "95"}, "percentile must be a number, not str"),
        ({"percentile": True}, "percentile must be a number, not bool"),
        ({"min_delay": None}, "min_delay must be a number of seconds or a timedelta"),
        ({"min_samples": 1.0}, "min_samples must be an int, not float"),
        ({"max_concurrent": "3"}, "max_concurrent must be an int, not str"),
    ],
)
def test_hedge_wrong_types_raise_type_error_naming_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        rc.Hedge(**kwargs)


def test_hedge_values_are_normalised() -> None:
    hedge = rc.Hedge(delay=datetime.timedelta(milliseconds=50), percentile=99, max_delay=2)
    assert hedge.delay == 0.05
    assert hedge.percentile == 99.0 and isinstance(hedge.percentile, float)
    assert hedge.max_delay == 2.0
    assert rc.Hedge(min_delay=0.5, max_delay=0.5).min_delay == 0.5
    hash(hedge)  # part of a registry key


def test_policy_takes_failover_and_hedge_or_none() -> None:
    with pytest.raises(TypeError, match="failover must be a Failover or None, not object"):
        rc.Policy(failover=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="hedge must be a Hedge or None, not dict"):
        rc.Policy(hedge={"delay": 1})  # type: ignore[arg-type]
    policy = rc.Policy(failover=rc.Failover(writes=True), hedge=rc.Hedge(delay=0.1))
    assert policy.failover.writes is True and policy.hedge.delay == 0.1
