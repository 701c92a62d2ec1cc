"""Optional parameters (TLVs: 2-octet tag, 2-octet length, value): the tags alertd reads or
writes, encoding, reading them off the end of a body, finding one."""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from gateways.smpp.codes import CommandStatus, PduError
from gateways.smpp.fields import Reader, cstring, u8s


class Tag(enum.IntEnum):
    RECEIPTED_MESSAGE_ID = 0x001E
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes

    @classmethod
    def u8(cls, tag: int, value: int) -> Tlv:
        return cls(tag, u8s(value=value))

    @classmethod
    def u16(cls, tag: int, value: int) -> Tlv:
        if not 0 <= value <= 0xFFFF:
            raise PduError(f"TLV 0x{tag:04x} value must fit in two octets, got {value!r}")
        return cls(tag, value.to_bytes(2, "big"))

    @classmethod
    def cstring(cls, tag: int, value: str, max_octets: int = 65) -> Tlv:
        return cls(tag, cstring(f"TLV 0x{tag:04x}", value, max_octets))

    def encode(self) -> bytes:
        if not 0 <= self.tag <= 0xFFFF or len(self.value) > 0xFFFF:
            raise PduError(f"TLV 0x{self.tag:x} has a tag or a length over two octets")
        return struct.pack(">HH", self.tag, len(self.value)) + self.value


def find_tlv(tlvs: Sequence[Tlv], tag: int) -> bytes | None:
    """The value of the first TLV with this tag, or None."""
    return next((t.value for t in tlvs if t.tag == tag), None)


def encode_tlvs(tlvs: Sequence[Tlv]) -> bytes:
    return b"".join(t.encode() for t in tlvs)


def read_tlvs(r: Reader) -> tuple[Tlv, ...]:
    """The TLVs from the reader's position to the end of the body."""
    found = []
    while r.remaining():
        if r.remaining() < 4:
            raise PduError(
                f"{r.remaining()} stray octets after the last TLV",
                CommandStatus.ESME_RINVOPTPARSTREAM,
            )
        tag, length = struct.unpack_from(">HH", r.data, r.pos)
        r.pos += 4
        if length > r.remaining():
            raise PduError(
                f"TLV 0x{tag:04x} of {length} octets runs past the end of the PDU",
                CommandStatus.ESME_RINVPARLEN,
            )
        found.append(Tlv(tag, r.octets("TLV value", length)))
    return tuple(found)
