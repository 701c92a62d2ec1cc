"""SMPP 3.4 PDUs, bytes in and bytes out: no sockets, no asyncio, no clock.

A PDU is a 16-octet header (command_length, command_id, command_status, sequence_number, all
big-endian unsigned 32-bit) and a body (`gateways.smpp.bodies`: fixed fields, C-octet strings and
optional TLVs). `encode` and `decode` turn a `Pdu` into bytes and back; `split_frames` cuts a
byte stream into PDUs. Decoding is strict: whatever the peer sends, it returns a `Pdu` or raises
`PduError` (a ValueError) saying what is wrong and which command_status to answer with.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from gateways.smpp.bodies import BODY_TYPES, Body
from gateways.smpp.codes import RESPONSE_BIT, CommandId, CommandStatus, PduError
from gateways.smpp.fields import Reader

HEADER: Final = struct.Struct(">IIII")
HEADER_LENGTH: Final = 16
MAX_PDU_LENGTH: Final = 64 * 1024 + 1024  # a full 64 KiB message_payload, plus header and fields


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
    expected = BODY_TYPES.get(pdu.command_id)
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
    expected = BODY_TYPES.get(command_id)
    reader = Reader(body)
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
