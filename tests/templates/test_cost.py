"""Cost of an alert: segments x recipients x price per segment, in cents, rounded half up."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from templates.cost import cost, costs


def test_cost_example() -> None:
    total = cost(2, 1000, Decimal("0.045"))
    assert total == Decimal("90.00")
    assert str(total) == "90.00"  # two decimals, always


@pytest.mark.parametrize(
    ("segments", "recipients", "price", "expected"),
    [
        (1, 1, Decimal("0.005"), "0.01"),
        (1, 1, Decimal("0.015"), "0.02"),
        (1, 1, Decimal("0.025"), "0.03"),  # half up, not half even (0.02)
        (1, 1, Decimal("0.0049"), "0.00"),
        (1, 3, Decimal("0.0375"), "0.11"),  # 0.1125
        (3, 1, Decimal("0.0450"), "0.14"),  # 0.135
        (0, 1000, Decimal("0.045"), "0.00"),
        (2, 0, Decimal("0.045"), "0.00"),
        (1, 195_000, Decimal("0.0355"), "6922.50"),
        (4, 195_000, Decimal("0.04"), "31200.00"),
    ],
)
def test_cost_rounds_half_up_to_cents(
    segments: int, recipients: int, price: Decimal, expected: str
) -> None:
    total = cost(segments, recipients, price)
    assert total == Decimal(expected)
    assert str(total) == expected


@pytest.mark.parametrize(
    ("segments", "recipients", "price"),
    [(-1, 10, Decimal("0.04")), (1, -10, Decimal("0.04")), (1, 10, Decimal("-0.04"))],
)
def test_negative_refused(segments: int, recipients: int, price: Decimal) -> None:
    with pytest.raises(ValueError, match="negative"):
        cost(segments, recipients, price)


def test_costs_per_gateway_sorted() -> None:
    prices = {"smpp-orange": Decimal("0.035"), "http-a": Decimal("0.045"), "fake": Decimal(0)}
    result = costs(2, 1000, prices)
    assert list(result) == ["fake", "http-a", "smpp-orange"]
    assert result == {
        "fake": Decimal("0.00"),
        "http-a": Decimal("90.00"),
        "smpp-orange": Decimal("70.00"),
    }
    assert costs(2, 1000, {}) == {}


def test_costs_refuses_a_negative_price() -> None:
    with pytest.raises(ValueError, match="negative"):
        costs(1, 1, {"a": Decimal("0.01"), "b": Decimal("-0.01")})


@settings(deadline=None, max_examples=200)
@given(
    st.integers(0, 10),
    st.integers(0, 2_000_000),
    st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False),
)
def test_cost_is_the_exact_product_rounded(segments: int, recipients: int, price: Decimal) -> None:
    total = cost(segments, recipients, price)
    exact_millicents = price * segments * recipients * 100_000  # exact: price has 4 places
    cents, rest = divmod(int(exact_millicents), 1000)
    assert total == Decimal(cents + (1 if rest >= 500 else 0)) / 100
    assert total.as_tuple().exponent == -2
