"""What a message costs: segments x recipients x each gateway's price per segment."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal


def cost(segments: int, recipients: int, price_per_segment: Decimal) -> Decimal:
    if segments < 0 or recipients < 0 or price_per_segment < 0:
        raise ValueError("segments, recipients and price must not be negative")
    total = price_per_segment * segments * recipients
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def costs(segments: int, recipients: int, prices: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The cost through each gateway, by gateway name."""
    return {name: cost(segments, recipients, price) for name, price in sorted(prices.items())}
