"""Little's law on numbers: no server needed."""

from __future__ import annotations

import pytest

from .sizing import max_throughput, per_instance_max, pool_size


@pytest.mark.task(3)
@pytest.mark.parametrize(
    ("rate", "service", "headroom", "expected"),
    [
        (100, 0.05, 0.25, 7),  # 5 in use on average, 6.25 with headroom: round up
        (100, 0.05, 0.0, 5),  # exactly 5: no spare connection
        (300, 0.1, 0.0, 30),  # 30.000000000000004 in floating point: still 30
        (100, 0.05, 0.2, 6),  # 6.000000000000001: still 6
        (200, 0.05, 0.5, 15),
        (1000, 0.002, 0.25, 3),  # 2.5 -> 3
        (0.5, 0.01, 0.25, 1),  # almost idle: one connection
        (0, 0.01, 0.25, 1),
        (40, 0.1, 1.0, 8),
    ],
)
def test_pool_size_is_littles_law_with_headroom_rounded_up(
    rate: float, service: float, headroom: float, expected: int
) -> None:
    assert pool_size(rate, service, headroom=headroom) == expected


@pytest.mark.task(3)
def test_pool_size_default_headroom_is_a_quarter() -> None:
    assert pool_size(100, 0.04) == 5  # 4 x 1.25
    assert pool_size(100, 0.041) == 6  # 5.125 -> 6


@pytest.mark.task(3)
@pytest.mark.parametrize(
    ("rate", "service", "headroom"),
    [(-1, 0.05, 0.25), (100, 0, 0.25), (100, -0.05, 0.25), (100, 0.05, -0.1)],
)
def test_pool_size_refuses_impossible_inputs(rate: float, service: float, headroom: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        pool_size(rate, service, headroom=headroom)


@pytest.mark.task(3)
def test_headroom_is_keyword_only() -> None:
    assert pool_size(100, 0.05, headroom=0.5) == 8  # 7.5 -> 8
    with pytest.raises(TypeError):
        pool_size(100, 0.05, 0.5)  # type: ignore[call-arg]


@pytest.mark.task(3)
def test_max_throughput_is_size_over_service_time() -> None:
    assert max_throughput(10, 0.02) == pytest.approx(500.0)
    assert max_throughput(1, 0.5) == pytest.approx(2.0)
    assert max_throughput(7, 0.05) == pytest.approx(140.0)
    # the two laws agree: a pool sized with no headroom serves at least the rate it was sized for
    assert max_throughput(pool_size(300, 0.1, headroom=0), 0.1) == pytest.approx(300.0)


@pytest.mark.task(3)
@pytest.mark.parametrize(("size", "service"), [(0, 0.02), (-1, 0.02), (10, 0), (10, -0.1)])
def test_max_throughput_refuses_impossible_inputs(size: int, service: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        max_throughput(size, service)


@pytest.mark.task(3)
def test_per_instance_max_shares_the_servers_connections() -> None:
    assert per_instance_max(100, instances=4) == 24  # (100 - 3) // 4
    assert per_instance_max(100, instances=1) == 97
    assert per_instance_max(100, instances=97) == 1
    assert per_instance_max(100, instances=4, reserved=0) == 25
    assert per_instance_max(100, instances=3, reserved=10) == 30
    assert per_instance_max(500, instances=6, reserved=20) == 80


@pytest.mark.task(3)
@pytest.mark.parametrize(
    ("server_max", "instances", "reserved"), [(100, 98, 3), (100, 0, 3), (3, 1, 3), (10, 2, 9)]
)
def test_per_instance_max_refuses_a_budget_that_leaves_nothing(
    server_max: int, instances: int, reserved: int
) -> None:
    with pytest.raises(ValueError):
        per_instance_max(server_max, instances=instances, reserved=reserved)
