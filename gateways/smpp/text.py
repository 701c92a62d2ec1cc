"""Text on the wire: which data coding a text needs, GSM-7 (data_coding 0x00, one unpacked septet
per octet, 0x1B escapes for the extension table, through the ``gsm0338`` codec) or UCS-2 (0x08,
UTF-16-BE) both ways, splitting a long text into parts without cutting a character, and sending
the parts as concatenated short messages with a UDH (`concatenated`) or whole in the
message_payload TLV (`with_payload`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

from gateways.smpp.bodies import ShortMessage
from gateways.smpp.codes import ESM_UDHI, DataCoding, PduError
from gateways.smpp.tlv import Tag, Tlv

GSM7_SINGLE: Final = 160  # septets in a message that is not split
UCS2_SINGLE: Final = 70  # UTF-16 units in a message that is not split
GSM7_PART_SEPTETS: Final = 153  # a concatenated part: 160 septets less 7 for the UDH
UCS2_PART_UNITS: Final = 67  # UTF-16 units a concatenated part holds
UCS2_PART_OCTETS: Final = 134  # a concatenated part: 140 octets less 6 for the UDH


CHARSETS: Final = {"gsm7": "gsm03.38", "latin1": "latin-1"}  # what data_coding 0 means to the SMSC


def encode_text(text: str, data_coding: int, charset: str = "gsm7") -> bytes:
    """GSM-7 unpacked septets (0x00; Latin-1 octets for an SMSC whose default alphabet is
    Latin-1) or UCS-2 (0x08); any character that does not fit is named in the error, never
    replaced."""
    if data_coding == DataCoding.DEFAULT:
        codec = CHARSETS[charset]
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


def decode_text(data: bytes, data_coding: int, charset: str = "gsm7") -> str:
    """An inbound short_message as text; undecodable octets become U+FFFD (we must read what a
    resident sent, whatever their phone did)."""
    if data_coding == DataCoding.DEFAULT:
        return data.decode(CHARSETS[charset], errors="replace")
    if 0xF0 <= data_coding <= 0xF3:
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


def concatenated(
    base: ShortMessage, parts: Sequence[str], ref: int, charset: str = "gsm7"
) -> list[ShortMessage]:
    """One submit_sm body per part, in order, each with the UDH and esm_class UDHI set. The
    caller has split the text (so no escape or surrogate pair is cut); each part must fit a
    segment: 153 GSM-7 septets or 67 UCS-2 characters."""
    limit = GSM7_PART_SEPTETS if base.data_coding == DataCoding.DEFAULT else UCS2_PART_OCTETS
    if not 2 <= len(parts) <= 0xFF:
        raise PduError(f"a concatenated message has 2 to 255 parts, not {len(parts)}")
    bodies = []
    for seq, part in enumerate(parts, start=1):
        payload = encode_text(part, base.data_coding, charset)
        if len(payload) > limit:
            raise PduError(f"part {seq} is {len(payload)} units long, a segment holds {limit}")
        udh = concat_udh(ref, len(parts), seq)
        bodies.append(
            replace(base, esm_class=base.esm_class | ESM_UDHI, short_message=udh + payload)
        )
    return bodies


def sar_parts(
    base: ShortMessage, parts: Sequence[str], ref: int, charset: str = "gsm7"
) -> list[ShortMessage]:
    """One submit_sm body per part with the sar_* TLVs (16-bit reference) and no UDH: the SMSC
    reassembles the parts itself, and one it could not complete is not delivered in pieces."""
    if not 2 <= len(parts) <= 0xFF:
        raise PduError(f"a segmented message has 2 to 255 parts, not {len(parts)}")
    return [
        replace(
            base,
            short_message=encode_text(part, base.data_coding, charset),
            tlvs=(
                *base.tlvs,
                Tlv.u16(Tag.SAR_MSG_REF_NUM, ref & 0xFFFF),
                Tlv.u8(Tag.SAR_TOTAL_SEGMENTS, len(parts)),
                Tlv.u8(Tag.SAR_SEGMENT_SEQNUM, seq),
            ),
        )
        for seq, part in enumerate(parts, start=1)
    ]


def with_payload(base: ShortMessage, text: str, charset: str = "gsm7") -> ShortMessage:
    """The whole text in the message_payload TLV, sm_length 0 (the SMSC does the splitting)."""
    payload = encode_text(text, base.data_coding, charset)
    if len(payload) > 0xFFFF:
        raise PduError(f"message_payload of {len(payload)} octets is over 65535")
    tlvs = (*base.tlvs, Tlv(Tag.MESSAGE_PAYLOAD, payload))
    return replace(base, short_message=b"", tlvs=tlvs)


def data_coding_for(text: str, charset: str = "gsm7") -> DataCoding:
    """GSM-7 when every character has a septet (basic or extension table), else UCS-2. With a
    Latin-1 SMSC, data_coding 0 also needs every character in Latin-1 (no euro sign, no Greek
    capitals): else UCS-2, never a character replaced."""
    try:
        encode_text(text, DataCoding.DEFAULT)
        encode_text(text, DataCoding.DEFAULT, charset)
    except PduError:
        return DataCoding.UCS2
    return DataCoding.DEFAULT


def _units(char: str, coding: int) -> int:
    if coding == DataCoding.DEFAULT:
        return len(encode_text(char, coding))  # 2 for an extension character (0x1B escape)
    return len(char.encode("utf-16-be")) // 2  # 2 for a character beyond the BMP


def split_text(text: str, coding: int) -> list[str]:
    """The text as one SMS, or as parts of at most 153 septets / 67 UCS-2 units; a character is
    never cut, so neither an escape sequence nor a surrogate pair is."""
    gsm = coding == DataCoding.DEFAULT
    single, part = (GSM7_SINGLE, GSM7_PART_SEPTETS) if gsm else (UCS2_SINGLE, UCS2_PART_UNITS)
    sizes = [_units(c, coding) for c in text]
    if sum(sizes) <= single:
        return [text]
    parts: list[str] = []
    start = used = 0
    for i, size in enumerate(sizes):
        if used + size > part:
            parts.append(text[start:i])
            start, used = i, 0
        used += size
    parts.append(text[start:])
    return parts
