"""SMPP 3.4 PDUs, bytes in and bytes out: no sockets, no asyncio, no clock.

A PDU is a 16-octet header (command_length, command_id, command_status, sequence_number, all
big-endian unsigned 32-bit) and a body of fixed fields, C-octet strings (ASCII, NUL-terminated,
bounded by the specification's maximum *including* the NUL) and optional TLVs (2-octet tag,
2-octet length, value). The bodies alertd needs are dataclasses; `encode` and `decode` turn a
`Pdu` into bytes and back. Decoding is strict: whatever the peer sends, it returns a `Pdu` or
raises `PduError` (a ValueError) saying what is wrong and which command_status to answer with.

Text goes out as GSM-7 (data_coding 0x00, one unpacked septet per octet, 0x1B escapes for the
extension table, through the ``gsm0338`` codec) or UCS-2 (data_coding 0x08, UTF-16-BE). Long texts
are split by the caller (templates.sms), then sent either as concatenated parts with a UDH
(`concatenated`) or whole in the message_payload TLV (`with_payload`).
"""

from __future__ import annotations

import enum
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, Self

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

from gateways.base import ReceiptStatus

HEADER: Final = struct.Struct(">IIII")
HEADER_LENGTH: Final = 16
MAX_PDU_LENGTH: Final = 64 * 1024 + 1024  # a full 64 KiB message_payload, plus header and fields
MAX_SHORT_MESSAGE: Final = 254  # octets, sm_length's ceiling in the specification
INTERFACE_VERSION: Final = 0x34
RESPONSE_BIT: Final = 0x80000000

ESM_DELIVERY_RECEIPT: Final = 0x04  # esm_class message type: SMSC delivery receipt
ESM_UDHI: Final = 0x40  # esm_class: short_message starts with a user data header

GSM7_PART_SEPTETS: Final = 153  # a concatenated part: 160 septets less 7 for the UDH
UCS2_PART_OCTETS: Final = 134  # a concatenated part: 140 octets less 6 for the UDH


class CommandId(enum.IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015

    @property
    def is_response(self) -> bool:
        return bool(self & RESPONSE_BIT)


class CommandStatus(enum.IntEnum):
    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVESMCLASS = 0x43
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_RINVPARLEN = 0xC2
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF


_TEMPORARY: Final = frozenset(
    {CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL, CommandStatus.ESME_RSYSERR}
)


def is_temporary(status: int) -> bool:
    """True when the same submission may succeed later (throttled, queue full, system error);
    any other non-zero status is permanent for this gateway."""
    return status in _TEMPORARY


def status_name(status: int) -> str:
    """``ESME_RTHROTTLED (0x00000058)``, or the bare number for vendor codes."""
    try:
        return f"{CommandStatus(status).name} (0x{status:08x})"
    except ValueError:
        return f"0x{status:08x}"


class Ton(enum.IntEnum):
    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER_NUMBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6


class Npi(enum.IntEnum):
    UNKNOWN = 0
    ISDN = 1  # E.163 / E.164
    DATA = 3
    TELEX = 4
    LAND_MOBILE = 6
    NATIONAL = 8
    PRIVATE = 9
    ERMES = 10
    INTERNET = 14
    WAP = 18


class DataCoding(enum.IntEnum):
    DEFAULT = 0x00  # the SMSC's default alphabet: GSM-7 for alertd
    IA5 = 0x01
    LATIN1 = 0x03
    UCS2 = 0x08


class Tag(enum.IntEnum):
    RECEIPTED_MESSAGE_ID = 0x001E
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


class MessageState(enum.IntEnum):
    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


class PduError(ValueError):
    """A PDU that cannot be encoded or decoded. ``status`` is the command_status to answer the
    peer with (in a generic_nack or the response), ``sequence_number`` the PDU's when known."""

    def __init__(
        self,
        message: str,
        status: int = CommandStatus.ESME_RSYSERR,
        sequence_number: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.sequence_number = sequence_number


# ── Fields ──────────────────────────────────────────────────────────────────────────────────


def _cstring(name: str, value: str, max_octets: int) -> bytes:
    """A C-octet string; ``max_octets`` counts the terminating NUL, as the specification does."""
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise PduError(f"{name} must be ASCII, got {value!r}") from None
    if b"\x00" in raw:
        raise PduError(f"{name} must not contain NUL")
    if len(raw) + 1 > max_octets:
        raise PduError(f"{name} {value!r} is longer than {max_octets - 1} characters")
    return raw + b"\x00"


def _time(name: str, value: str) -> bytes:
    if len(value) not in (0, 16):
        raise PduError(f"{name} is empty or 16 characters (YYMMDDhhmmsstnnp), got {value!r}")
    return _cstring(name, value, 17)


def _u8s(**fields: int) -> bytes:
    for name, value in fields.items():
        if not 0 <= value <= 0xFF:
            raise PduError(f"{name} must fit in one octet, got {value!r}")
    return bytes(fields.values())


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes

    @classmethod
    def u8(cls, tag: int, value: int) -> Tlv:
        return cls(tag, _u8s(value=value))

    @classmethod
    def u16(cls, tag: int, value: int) -> Tlv:
        if not 0 <= value <= 0xFFFF:
            raise PduError(f"TLV 0x{tag:04x} value must fit in two octets, got {value!r}")
        return cls(tag, value.to_bytes(2, "big"))

    @classmethod
    def cstring(cls, tag: int, value: str, max_octets: int = 65) -> Tlv:
        return cls(tag, _cstring(f"TLV 0x{tag:04x}", value, max_octets))

    def encode(self) -> bytes:
        if not 0 <= self.tag <= 0xFFFF or len(self.value) > 0xFFFF:
            raise PduError(f"TLV 0x{self.tag:x} has a tag or a length over two octets")
        return struct.pack(">HH", self.tag, len(self.value)) + self.value


def find_tlv(tlvs: Sequence[Tlv], tag: int) -> bytes | None:
    """The value of the first TLV with this tag, or None."""
    return next((t.value for t in tlvs if t.tag == tag), None)


class _Reader:
    """Reads a body front to back; every way of running out of bytes raises PduError."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def u8(self, name: str) -> int:
        if self.remaining() < 1:
            raise PduError(f"body ends before {name}", CommandStatus.ESME_RINVMSGLEN)
        self.pos += 1
        return self.data[self.pos - 1]

    def octets(self, name: str, count: int) -> bytes:
        if self.remaining() < count:
            raise PduError(
                f"{name} needs {count} octets, {self.remaining()} left",
                CommandStatus.ESME_RINVMSGLEN,
            )
        self.pos += count
        return self.data[self.pos - count : self.pos]

    def cstring(self, name: str, max_octets: int) -> str:
        end = self.data.find(b"\x00", self.pos, self.pos + max_octets)
        if end < 0:
            raise PduError(f"{name}: no NUL terminator within {max_octets} octets")
        value = self.data[self.pos : end].decode("latin-1")  # lossless; peers are not all ASCII
        self.pos = end + 1
        return value

    def tlvs(self) -> tuple[Tlv, ...]:
        found = []
        while self.remaining():
            if self.remaining() < 4:
                raise PduError(
                    f"{self.remaining()} stray octets after the last TLV",
                    CommandStatus.ESME_RINVOPTPARSTREAM,
                )
            tag, length = struct.unpack_from(">HH", self.data, self.pos)
            self.pos += 4
            if length > self.remaining():
                raise PduError(
                    f"TLV 0x{tag:04x} of {length} octets runs past the end of the PDU",
                    CommandStatus.ESME_RINVPARLEN,
                )
            found.append(Tlv(tag, self.octets("TLV value", length)))
        return tuple(found)

    def end(self, what: str) -> None:
        if self.remaining():
            raise PduError(f"{what}: {self.remaining()} unexpected octets at the end")


# ── Bodies ──────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind:
    """The body of bind_transmitter, bind_receiver and bind_transceiver."""

    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = Ton.UNKNOWN
    addr_npi: int = Npi.UNKNOWN
    address_range: str = ""

    def encode(self) -> bytes:
        return b"".join(
            (
                _cstring("system_id", self.system_id, 16),
                _cstring("password", self.password, 9),
                _cstring("system_type", self.system_type, 13),
                _u8s(
                    interface_version=self.interface_version,
                    addr_ton=self.addr_ton,
                    addr_npi=self.addr_npi,
                ),
                _cstring("address_range", self.address_range, 41),
            )
        )

    @classmethod
    def read(cls, r: _Reader) -> Self:
        body = cls(
            system_id=r.cstring("system_id", 16),
            password=r.cstring("password", 9),
            system_type=r.cstring("system_type", 13),
            interface_version=r.u8("interface_version"),
            addr_ton=r.u8("addr_ton"),
            addr_npi=r.u8("addr_npi"),
            address_range=r.cstring("address_range", 41),
        )
        r.end("bind")
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResp:
    """The body of the bind responses: the SMSC's system_id, maybe sc_interface_version."""

    system_id: str
    tlvs: tuple[Tlv, ...] = ()

    def encode(self) -> bytes:
        return _cstring("system_id", self.system_id, 16) + _encode_tlvs(self.tlvs)

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(system_id=r.cstring("system_id", 16), tlvs=r.tlvs())


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageIdResp:
    """The body of submit_sm_resp (the SMSC's message id) and deliver_sm_resp (unused, empty)."""

    message_id: str = ""

    def encode(self) -> bytes:
        return _cstring("message_id", self.message_id, 65)

    @classmethod
    def read(cls, r: _Reader) -> Self:
        body = cls(message_id=r.cstring("message_id", 65))
        r.end("message id response")
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessage:
    """The body of submit_sm and deliver_sm (same layout); sm_length is len(short_message)."""

    destination_addr: str
    short_message: bytes = b""
    service_type: str = ""
    source_addr_ton: int = Ton.UNKNOWN
    source_addr_npi: int = Npi.UNKNOWN
    source_addr: str = ""
    dest_addr_ton: int = Ton.UNKNOWN
    dest_addr_npi: int = Npi.UNKNOWN
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = DataCoding.DEFAULT
    sm_default_msg_id: int = 0
    tlvs: tuple[Tlv, ...] = ()

    def encode(self) -> bytes:
        if len(self.short_message) > MAX_SHORT_MESSAGE:
            raise PduError(
                f"short_message of {len(self.short_message)} octets: at most "
                f"{MAX_SHORT_MESSAGE}, use concatenated parts or message_payload",
                CommandStatus.ESME_RINVMSGLEN,
            )
        if self.short_message and find_tlv(self.tlvs, Tag.MESSAGE_PAYLOAD) is not None:
            raise PduError("short_message and message_payload are exclusive: sm_length must be 0")
        return b"".join(
            (
                _cstring("service_type", self.service_type, 6),
                _u8s(source_addr_ton=self.source_addr_ton, source_addr_npi=self.source_addr_npi),
                _cstring("source_addr", self.source_addr, 21),
                _u8s(dest_addr_ton=self.dest_addr_ton, dest_addr_npi=self.dest_addr_npi),
                _cstring("destination_addr", self.destination_addr, 21),
                _u8s(
                    esm_class=self.esm_class,
                    protocol_id=self.protocol_id,
                    priority_flag=self.priority_flag,
                ),
                _time("schedule_delivery_time", self.schedule_delivery_time),
                _time("validity_period", self.validity_period),
                _u8s(
                    registered_delivery=self.registered_delivery,
                    replace_if_present_flag=self.replace_if_present_flag,
                    data_coding=self.data_coding,
                    sm_default_msg_id=self.sm_default_msg_id,
                    sm_length=len(self.short_message),
                ),
                self.short_message,
                _encode_tlvs(self.tlvs),
            )
        )

    @classmethod
    def read(cls, r: _Reader) -> Self:
        # keyword arguments are evaluated left to right: this is the order on the wire
        return cls(
            service_type=r.cstring("service_type", 6),
            source_addr_ton=r.u8("source_addr_ton"),
            source_addr_npi=r.u8("source_addr_npi"),
            source_addr=r.cstring("source_addr", 21),
            dest_addr_ton=r.u8("dest_addr_ton"),
            dest_addr_npi=r.u8("dest_addr_npi"),
            destination_addr=r.cstring("destination_addr", 21),
            esm_class=r.u8("esm_class"),
            protocol_id=r.u8("protocol_id"),
            priority_flag=r.u8("priority_flag"),
            schedule_delivery_time=r.cstring("schedule_delivery_time", 17),
            validity_period=r.cstring("validity_period", 17),
            registered_delivery=r.u8("registered_delivery"),
            replace_if_present_flag=r.u8("replace_if_present_flag"),
            data_coding=r.u8("data_coding"),
            sm_default_msg_id=r.u8("sm_default_msg_id"),
            short_message=_read_short_message(r),
            tlvs=r.tlvs(),
        )


def _read_short_message(r: _Reader) -> bytes:
    sm_length = r.u8("sm_length")
    if sm_length > MAX_SHORT_MESSAGE:
        raise PduError(f"sm_length {sm_length} is over 254", CommandStatus.ESME_RINVMSGLEN)
    return r.octets("short_message", sm_length)


def _encode_tlvs(tlvs: Sequence[Tlv]) -> bytes:
    return b"".join(t.encode() for t in tlvs)


Body = Bind | BindResp | MessageIdResp | ShortMessage | None

_BODY_TYPES: Final[dict[CommandId, type[Bind | BindResp | MessageIdResp | ShortMessage]]] = {
    CommandId.BIND_RECEIVER: Bind,
    CommandId.BIND_TRANSMITTER: Bind,
    CommandId.BIND_TRANSCEIVER: Bind,
    CommandId.BIND_RECEIVER_RESP: BindResp,
    CommandId.BIND_TRANSMITTER_RESP: BindResp,
    CommandId.BIND_TRANSCEIVER_RESP: BindResp,
    CommandId.SUBMIT_SM: ShortMessage,
    CommandId.DELIVER_SM: ShortMessage,
    CommandId.SUBMIT_SM_RESP: MessageIdResp,
    CommandId.DELIVER_SM_RESP: MessageIdResp,
}


# ── PDUs ────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Pdu:
    """One PDU. Commands without a body (enquire_link, unbind, generic_nack and their
    responses) have ``body=None``; so may a response whose command_status is not ESME_ROK."""

    command_id: CommandId
    sequence_number: int
    body: Body = None
    command_status: int = CommandStatus.ESME_ROK


def respond(request: Pdu, body: Body = None, status: int = CommandStatus.ESME_ROK) -> Pdu:
    """The response to ``request``: same sequence number, command_id with the response bit."""
    return Pdu(CommandId(request.command_id | RESPONSE_BIT), request.sequence_number, body, status)


def generic_nack(sequence_number: int, status: int) -> Pdu:
    return Pdu(CommandId.GENERIC_NACK, sequence_number, None, status)


def _check_body(pdu: Pdu) -> None:
    expected = _BODY_TYPES.get(pdu.command_id)
    if pdu.body is None:
        if expected is None or (pdu.command_id.is_response and pdu.command_status):
            return
        raise PduError(f"{pdu.command_id.name} needs a {expected.__name__} body")
    if expected is None or not isinstance(pdu.body, expected):
        raise PduError(f"{pdu.command_id.name} cannot carry a {type(pdu.body).__name__} body")


def encode(pdu: Pdu) -> bytes:
    _check_body(pdu)
    for name, value in (("sequence_number", pdu.sequence_number), ("status", pdu.command_status)):
        if not 0 <= value <= 0xFFFFFFFF:
            raise PduError(f"{name} must fit in four octets, got {value!r}")
    body = b"" if pdu.body is None else pdu.body.encode()
    length = HEADER_LENGTH + len(body)
    if length > MAX_PDU_LENGTH:
        raise PduError(f"PDU of {length} octets is over the {MAX_PDU_LENGTH}-octet maximum")
    return HEADER.pack(length, pdu.command_id, pdu.command_status, pdu.sequence_number) + body


def _check_length(length: int) -> None:
    if not HEADER_LENGTH <= length <= MAX_PDU_LENGTH:
        raise PduError(
            f"command_length {length} is outside {HEADER_LENGTH}..{MAX_PDU_LENGTH}",
            CommandStatus.ESME_RINVCMDLEN,
        )


def decode(data: bytes | bytearray | memoryview) -> Pdu:
    """One complete PDU; raises PduError, and nothing else, for any malformed input."""
    raw = bytes(data)
    if len(raw) < HEADER_LENGTH:
        raise PduError(f"{len(raw)} octets: shorter than the 16-octet header")
    length, command, status, sequence = HEADER.unpack_from(raw)
    _check_length(length)
    if length != len(raw):
        raise PduError(
            f"command_length says {length} octets, the PDU has {len(raw)}",
            CommandStatus.ESME_RINVCMDLEN,
            sequence,
        )
    try:
        command_id = CommandId(command)
    except ValueError:
        raise PduError(
            f"unknown command_id 0x{command:08x}", CommandStatus.ESME_RINVCMDID, sequence
        ) from None
    try:
        body = _decode_body(command_id, status, raw[HEADER_LENGTH:])
    except PduError as error:
        message = f"{command_id.name} #{sequence}: {error}"
        raise PduError(message, error.status, sequence) from error
    return Pdu(command_id, sequence, body, status)


def _decode_body(command_id: CommandId, status: int, body: bytes) -> Body:
    expected = _BODY_TYPES.get(command_id)
    reader = _Reader(body)
    if expected is None:
        reader.end("this command has no body")
        return None
    if not body and command_id.is_response and status:
        return None  # the specification omits the body of a failed response
    return expected.read(reader)


def split_frames(buffer: bytes | bytearray) -> tuple[list[bytes], bytearray]:
    """The complete PDUs at the start of ``buffer`` (undecoded, so that a bad body can be
    answered with a generic_nack without losing the stream) and the bytes left over. A
    command_length out of bounds means the stream cannot be resynchronised: PduError."""
    frames: list[bytes] = []
    pos = 0
    while len(buffer) - pos >= 4:
        (length,) = struct.unpack_from(">I", buffer, pos)
        _check_length(length)
        if len(buffer) - pos < length:
            break
        frames.append(bytes(buffer[pos : pos + length]))
        pos += length
    return frames, bytearray(buffer[pos:])


# ── Text ────────────────────────────────────────────────────────────────────────────────────


def encode_text(text: str, data_coding: int) -> bytes:
    """GSM-7 unpacked septets (0x00) or UCS-2 (0x08); any character that does not fit is named
    in the error, never replaced."""
    if data_coding == DataCoding.DEFAULT:
        codec = "gsm03.38"
    elif data_coding == DataCoding.UCS2:
        codec = "utf-16-be"
    else:
        raise PduError(f"alertd sends data_coding 0x00 or 0x08, not 0x{data_coding:02x}")
    try:
        return text.encode(codec)
    except UnicodeEncodeError as error:
        bad = sorted({c for c in text if not _encodes(c, codec)})
        raise PduError(f"not encodable as {codec}: {', '.join(map(repr, bad))}") from error


def _encodes(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def decode_text(data: bytes, data_coding: int) -> str:
    """An inbound short_message as text; undecodable octets become U+FFFD (we must read what a
    resident sent, whatever their phone did)."""
    if data_coding == DataCoding.DEFAULT or 0xF0 <= data_coding <= 0xF3:
        return data.decode("gsm03.38", errors="replace")
    if data_coding == DataCoding.UCS2:
        return data.decode("utf-16-be", errors="replace")
    if data_coding == DataCoding.IA5:
        return data.decode("ascii", errors="replace")
    if data_coding == DataCoding.LATIN1:
        return data.decode("latin-1")
    raise PduError(f"data_coding 0x{data_coding:02x} is not text")


def concat_udh(ref: int, total: int, seq: int) -> bytes:
    """Concatenation UDH with an 8-bit reference: 05 00 03 ref total seq."""
    if not (0 <= ref <= 0xFF and 1 <= total <= 0xFF and 1 <= seq <= total):
        raise PduError(f"bad concatenation ref={ref} total={total} seq={seq}")
    return bytes((0x05, 0x00, 0x03, ref, total, seq))


def concatenated(base: ShortMessage, parts: Sequence[str], ref: int) -> list[ShortMessage]:
    """One submit_sm body per part, in order, each with the UDH and esm_class UDHI set. The
    caller has split the text (so no escape or surrogate pair is cut); each part must fit a
    segment: 153 GSM-7 septets or 67 UCS-2 characters."""
    limit = GSM7_PART_SEPTETS if base.data_coding == DataCoding.DEFAULT else UCS2_PART_OCTETS
    if not 2 <= len(parts) <= 0xFF:
        raise PduError(f"a concatenated message has 2 to 255 parts, not {len(parts)}")
    bodies = []
    for seq, part in enumerate(parts, start=1):
        payload = encode_text(part, base.data_coding)
        if len(payload) > limit:
            raise PduError(f"part {seq} is {len(payload)} units long, a segment holds {limit}")
        udh = concat_udh(ref, len(parts), seq)
        bodies.append(
            replace(base, esm_class=base.esm_class | ESM_UDHI, short_message=udh + payload)
        )
    return bodies


def with_payload(base: ShortMessage, text: str) -> ShortMessage:
    """The whole text in the message_payload TLV, sm_length 0 (the SMSC does the splitting)."""
    payload = encode_text(text, base.data_coding)
    if len(payload) > 0xFFFF:
        raise PduError(f"message_payload of {len(payload)} octets is over 65535")
    tlvs = (*base.tlvs, Tlv(Tag.MESSAGE_PAYLOAD, payload))
    return replace(base, short_message=b"", tlvs=tlvs)


# ── Delivery receipts ───────────────────────────────────────────────────────────────────────

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


def receipt_of(sm: ShortMessage) -> DeliveryReceipt | None:
    """The delivery receipt a deliver_sm carries, or None when it is not one (esm_class bit
    0x04 clear: an inbound message). The receipted_message_id and message_state TLVs, when
    present, win over the text form, which not every SMSC writes alike."""
    if not sm.esm_class & ESM_DELIVERY_RECEIPT:
        return None
    raw_id = find_tlv(sm.tlvs, Tag.RECEIPTED_MESSAGE_ID)
    raw_state = find_tlv(sm.tlvs, Tag.MESSAGE_STATE)
    text = (sm.short_message or find_tlv(sm.tlvs, Tag.MESSAGE_PAYLOAD) or b"").decode("latin-1")
    try:
        base = parse_receipt_text(text)
    except PduError:
        if raw_id is None or raw_state is None:
            raise
        base = DeliveryReceipt(message_id="", stat="", text=text)  # the TLVs are enough
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
