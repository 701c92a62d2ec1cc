"""The one conversion from the domain's dataclasses to JSON: pure, no database."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from alertd.alerts.followups import FollowUp
from alertd.alerts.lifecycle import Sent
from alertd.alerts.texts import Text
from alertd.jsonable import dumps, jsonable, jsonable_object


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclass(frozen=True, slots=True)
class Inner:
    lang: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Outer:
    id: int
    inner: Inner
    texts: tuple[Inner, ...]
    cost: dict[str, Decimal] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()


AT = datetime(2025, 1, 13, 6, 10, tzinfo=UTC)


def test_nested_dataclasses_keep_their_field_order() -> None:
    value = Outer(1, Inner("fr", AT), (Inner("en", AT),), {"ovh": Decimal("18.540")})
    assert jsonable(value) == {
        "id": 1,
        "inner": {"lang": "fr", "at": "2025-01-13 06:10:00+00:00"},
        "texts": [{"lang": "en", "at": "2025-01-13 06:10:00+00:00"}],
        "cost": {"ovh": "18.540"},
        "tags": [],
    }
    assert list(jsonable_object(value)) == ["id", "inner", "texts", "cost", "tags"]


def test_values_json_has_no_type_for_print_as_they_always_did() -> None:
    # What json.dumps(default=str) printed before this module: the --json lines stay the same.
    for value in (AT, Decimal("0.045"), Decimal("5"), UUID(int=1)):
        assert jsonable(value) == str(value)
        assert dumps(value) == json.dumps(value, default=str)


def test_scalars_enums_and_containers() -> None:
    assert jsonable(None) is None
    assert jsonable(True) is True
    assert jsonable(2.5) == 2.5
    assert jsonable(Colour.RED) == "red"
    assert jsonable(Level.HIGH) == 3 and type(jsonable(Level.HIGH)) is int
    assert jsonable((1, (2, 3))) == [1, [2, 3]]
    assert jsonable({"b", "a"}) == ["a", "b"]
    assert jsonable({1: "x"}) == {"1": "x"}


def test_domain_objects_print_the_documented_keys() -> None:
    assert dumps(Sent(4, "sent", 40, 40)) == (
        '{"alert_id": 4, "status": "sent", "recipients": 40, "written": 40, "resumed": false}'
    )
    assert jsonable(FollowUp(5, 40, None, 0, 2)) == {
        "update_id": 5,
        "update_recipients": 40,
        "all_clear_id": None,
        "all_clear_recipients": 0,
        "newcomers": 2,
        "status": "sent",
    }
    assert jsonable(Text("fr", "Évacuez", "GSM-7", 1)) == {
        "lang": "fr",
        "text": "Évacuez",
        "encoding": "GSM-7",
        "segments": 1,
    }


def test_one_line_and_letters_as_they_are() -> None:
    line = dumps({"commune": "Téteghem", "texts": ("a\nb",)})
    assert line == '{"commune": "Téteghem", "texts": ["a\\nb"]}'
    assert "\n" not in line


def test_only_objects_take_extra_keys() -> None:
    assert jsonable_object({"a": 1}) == {"a": 1}
    with pytest.raises(TypeError, match="list does not make a JSON object"):
        jsonable_object([1])
