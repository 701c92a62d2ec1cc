"""Phone numbers never leave the process in clear: whatever field, shape or library they come in."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from alertd.config import LogConfig
from alertd.logs import configure_logging, get_logger, mask_phone, mask_text

PHONES = [
    "+33612345678",
    "06 12 34 56 78",
    "06.12.34.56.78",
    "0033612345678",
    "33612345678",
    "+33 6 12 34 56 78",
    "+32 470 12 34 56",
    "0612345678",
]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(LogConfig(level="debug", format="json"), stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def _events(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_in_any_field_is_masked(json_log: io.StringIO, phone: str) -> None:
    log = get_logger("t").bind(subscriber=phone)
    log.info(
        f"sending to {phone}",
        phone=phone,
        row={"to": phone, "list": [phone, (phone,)]},
        raw=phone.encode(),
    )
    text = json_log.getvalue()
    assert phone not in text
    event = _events(json_log)[0]
    assert event["phone"] == mask_phone(phone)
    assert str(event["phone"]).endswith(phone[-2:])
    assert event["row"] == {
        "to": mask_phone(phone),
        "list": [mask_phone(phone), [mask_phone(phone)]],
    }


def _refuse() -> None:
    raise ValueError("gateway refused +33612345678")


def test_phone_in_exception_is_masked(json_log: io.StringIO) -> None:
    try:
        _refuse()
    except ValueError:
        get_logger().exception("submit failed")
    text = json_log.getvalue()
    assert "+33612345678" not in text
    assert "+*********78" in text


def test_phone_in_context_variables_is_masked(json_log: io.StringIO) -> None:
    with structlog.contextvars.bound_contextvars(msisdn="0612345678"):
        get_logger().warning("receipt")
    assert "0612345678" not in json_log.getvalue()
    assert _events(json_log)[0]["msisdn"] == "********78"


def test_standard_library_logging_is_masked_too(json_log: io.StringIO) -> None:
    logging.getLogger("asyncpg").warning("duplicate key (tenant_id, phone)=(1, +33612345678)")
    text = json_log.getvalue()
    assert "+33612345678" not in text
    assert "+*********78" in text


def test_mask_keeps_last_two_digits_and_format() -> None:
    assert mask_phone("+33612345678") == "+*********78"
    assert mask_phone("06 12 34 56 78") == "** ** ** ** 78"


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-26T03:12:00Z",
        "alert 42 sent to 1200 residents",
        "rate 500/s",
        "version 0.1.0",
        "59183",
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_json_when_not_a_terminal(json_log: io.StringIO) -> None:
    get_logger().info("hello", alert_id=7)
    event = _events(json_log)[0]
    assert event["event"] == "hello"
    assert event["alert_id"] == 7
    assert event["level"] == "info"
