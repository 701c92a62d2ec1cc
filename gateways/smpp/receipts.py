"""What a deliver_sm carries: a delivery receipt (SMPP 3.4 appendix B text, or the
receipted_message_id and message_state TLVs, which win when present) or a resident's message."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from gateways.base import Inbound, ReceiptStatus
from gateways.smpp.bodies import ShortMessage
from gateways.smpp.codes import ESM_DELIVERY_RECEIPT, ESM_UDHI, PduError, Ton
from gateways.smpp.text import decode_text
from gateways.smpp.tlv import Tag, find_tlv


class MessageState(enum.IntEnum):
    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


_STATES: Final = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}
_RECEIPT_STATUS: Final = {
    "DELIVRD": ReceiptStatus.DELIVERED,
    "EXPIRED": ReceiptStatus.EXPIRED,
    "DELETED": ReceiptStatus.FAILED,
    "UNDELIV": ReceiptStatus.FAILED,
    "REJECTD": ReceiptStatus.FAILED,
    "UNKNOWN": ReceiptStatus.FAILED,
    "ENROUTE": ReceiptStatus.BUFFERED,
    "ACCEPTD": ReceiptStatus.BUFFERED,
}
_RECEIPT_FIELD: Final = re.compile(
    r"(?<!\S)(id|sub|dlvrd|submit date|done date|stat|err):(\S*)", re.IGNORECASE
)
_RECEIPT_TEXT: Final = re.compile(r"(?<!\S)text:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    message_id: str
    stat: str  # DELIVRD, UNDELIV, EXPIRED, ... as the SMSC wrote it
    err: str | None = None
    done_date: str | None = None  # YYMMDDhhmm[ss], the SMSC's local time, as given
    text: str = ""

    @property
    def status(self) -> ReceiptStatus | None:
        """The gateway-neutral status, or None for a stat this module does not know."""
        return _RECEIPT_STATUS.get(self.stat.upper())


def parse_receipt_text(text: str) -> DeliveryReceipt:
    """``id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…`` (SMPP 3.4
    appendix B; the fields beyond id and stat are optional, keys in any case)."""
    cut = _RECEIPT_TEXT.search(text)
    head, tail = (text[: cut.start()], text[cut.end() :]) if cut else (text, "")
    fields = {key.lower(): value for key, value in _RECEIPT_FIELD.findall(head)}
    if "id" not in fields or "stat" not in fields:
        raise PduError(f"not a delivery receipt (no id or stat): {text[:80]!r}")
    return DeliveryReceipt(
        message_id=fields["id"],
        stat=fields["stat"],
        err=fields.get("err"),
        done_date=fields.get("done date"),
        text=tail,
    )


def _text_of(sm: ShortMessage, charset: str) -> str:
    raw = sm.short_message or find_tlv(sm.tlvs, Tag.MESSAGE_PAYLOAD) or b""
    try:
        return decode_text(raw, sm.data_coding, charset)  # UCS-2 receipts exist
    except PduError:
        return raw.decode("latin-1")


def receipt_of(sm: ShortMessage, charset: str = "gsm7") -> DeliveryReceipt | None:
    """The delivery receipt a deliver_sm carries, or None when it is not one. A receipt is
    known by its esm_class (bit 0x04), by the receipted_message_id and message_state TLVs, or
    by its text alone (``id:… stat:…`` with a known state: some SMSCs send receipts with
    esm_class 0), in any data coding. The TLVs, when present, win over the text form, which
    not every SMSC writes alike. PduError: marked as a receipt but unreadable."""
    raw_id = find_tlv(sm.tlvs, Tag.RECEIPTED_MESSAGE_ID)
    raw_state = find_tlv(sm.tlvs, Tag.MESSAGE_STATE)
    by_tlvs = raw_id is not None and raw_state is not None
    text = _text_of(sm, charset)
    try:
        base = parse_receipt_text(text)
    except PduError:
        if not (sm.esm_class & ESM_DELIVERY_RECEIPT or by_tlvs):
            return None  # a resident's message
        if not by_tlvs:
            raise
        base = DeliveryReceipt(message_id="", stat="", text=text)  # the TLVs are enough
    else:
        marked = sm.esm_class & ESM_DELIVERY_RECEIPT or by_tlvs
        if not marked and base.status is None:
            return None  # "id:… stat:…" from a resident, with no state we know
    message_id = base.message_id if raw_id is None else _tlv_text(raw_id)
    stat = base.stat if raw_state is None else _state_name(raw_state)
    return replace(base, message_id=message_id, stat=stat)


def _tlv_text(value: bytes) -> str:
    if not value.endswith(b"\x00") or b"\x00" in value[:-1] or len(value) > 65:
        raise PduError("receipted_message_id must be a C-octet string of at most 65 octets")
    return value[:-1].decode("latin-1")


def _state_name(value: bytes) -> str:
    if len(value) != 1:
        raise PduError(f"message_state is one octet, got {len(value)}")
    try:
        return _STATES[MessageState(value[0])]
    except ValueError:
        raise PduError(f"unknown message_state {value[0]}") from None


def inbound_of(gateway: str, sm: ShortMessage, at: datetime, charset: str = "gsm7") -> Inbound:
    """A resident's message, as the gateway ``gateway`` received it at ``at``."""
    raw = sm.short_message or find_tlv(sm.tlvs, Tag.MESSAGE_PAYLOAD) or b""
    if sm.esm_class & ESM_UDHI and raw:
        raw = raw[1 + raw[0] :]  # the UDH's own length octet, then the UDH
    try:
        text = decode_text(raw, sm.data_coding, charset)
    except PduError:  # binary or unknown coding: kept readable rather than refused for ever
        text = raw.decode("latin-1")
    sender = sm.source_addr
    if sm.source_addr_ton == Ton.INTERNATIONAL and sender.isdigit():
        sender = "+" + sender
    return Inbound(gateway, sender, sm.destination_addr or None, text, at)
