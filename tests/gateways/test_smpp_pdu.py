"""SMPP 3.4 PDU codec, checked byte for byte against PDUs laid out by hand from the
specification (section 2.2 header, 4.x bodies, 5.3 TLVs, appendix B receipts)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateways.base import ReceiptStatus
from gateways.smpp.bodies import Bind, BindResp, MessageIdResp, ShortMessage
from gateways.smpp.codes import (
    ESM_UDHI,
    CommandId,
    CommandStatus,
    DataCoding,
    Npi,
    PduError,
    Ton,
    is_temporary,
    status_name,
)
from gateways.smpp.pdu import (
    MAX_PDU_LENGTH,
    Pdu,
    decode,
    encode,
    generic_nack,
    respond,
    split_frames,
)
from gateways.smpp.receipts import DeliveryReceipt, parse_receipt_text, receipt_of
from gateways.smpp.text import concatenated, decode_text, encode_text, with_payload
from gateways.smpp.tlv import Tag, Tlv


def h(text: str) -> bytes:
    """Hex with spaces and line breaks for readability."""
    return bytes.fromhex("".join(text.split()))


TO_FR = ShortMessage(
    destination_addr="33612345678", dest_addr_ton=Ton.INTERNATIONAL, dest_addr_npi=Npi.ISDN
)
DEST_FR = "01 01 3333363132333435363738 00"  # ton 1, npi 1, "33612345678\0"


# ── Header, session PDUs ────────────────────────────────────────────────────────────────────

ENQUIRE_LINK = h("00000010 00000015 00000000 00000001")
ENQUIRE_LINK_RESP = h("00000010 80000015 00000000 00000001")


def test_enquire_link() -> None:
    pdu = Pdu(CommandId.ENQUIRE_LINK, 1)
    assert encode(pdu) == ENQUIRE_LINK
    assert decode(ENQUIRE_LINK) == pdu


def test_enquire_link_resp() -> None:
    pdu = respond(Pdu(CommandId.ENQUIRE_LINK, 1))
    assert encode(pdu) == ENQUIRE_LINK_RESP
    assert decode(ENQUIRE_LINK_RESP) == Pdu(CommandId.ENQUIRE_LINK_RESP, 1)


def test_unbind_and_resp() -> None:
    assert encode(Pdu(CommandId.UNBIND, 0x7FFFFFFF)) == h("00000010 00000006 00000000 7fffffff")
    assert encode(Pdu(CommandId.UNBIND_RESP, 5)) == h("00000010 80000006 00000000 00000005")


def test_generic_nack() -> None:
    wire = h("00000010 80000000 00000003 00000007")
    assert encode(generic_nack(7, CommandStatus.ESME_RINVCMDID)) == wire
    pdu = decode(wire)
    assert pdu.command_id is CommandId.GENERIC_NACK
    assert pdu.command_status == CommandStatus.ESME_RINVCMDID
    assert pdu.sequence_number == 7


# ── Bind ────────────────────────────────────────────────────────────────────────────────────

# bind_transceiver (4.1.5): header, then system_id "alertd\0", password "secret\0",
# system_type "\0", interface_version 0x34, addr_ton 0, addr_npi 0, address_range "\0".
BIND_TRANSCEIVER = h(
    """
    00000023 00000009 00000000 00000001
    616c65727464 00
    736563726574 00
    00
    34
    00 00
    00
    """
)


def test_bind_transceiver() -> None:
    pdu = Pdu(CommandId.BIND_TRANSCEIVER, 1, Bind(system_id="alertd", password="secret"))
    assert encode(pdu) == BIND_TRANSCEIVER
    assert decode(BIND_TRANSCEIVER) == pdu


@pytest.mark.parametrize(
    ("command", "code"),
    [(CommandId.BIND_RECEIVER, "00000001"), (CommandId.BIND_TRANSMITTER, "00000002")],
)
def test_other_binds_differ_only_by_command_id(command: CommandId, code: str) -> None:
    wire = encode(Pdu(command, 1, Bind(system_id="alertd", password="secret")))
    assert wire == BIND_TRANSCEIVER[:4] + h(code) + BIND_TRANSCEIVER[8:]


def test_bind_transceiver_resp_with_sc_interface_version() -> None:
    wire = h("0000001b 80000009 00000000 00000001 534d534331 00  0210 0001 34")  # "SMSC1"
    pdu = decode(wire)
    assert pdu.body == BindResp(system_id="SMSC1", tlvs=(Tlv(Tag.SC_INTERFACE_VERSION, b"\x34"),))
    assert encode(pdu) == wire


def test_failed_bind_resp_without_body() -> None:
    pdu = decode(h("00000010 80000009 0000000e 00000001"))
    assert pdu.command_status == CommandStatus.ESME_RINVPASWD
    assert pdu.body is None
    assert not is_temporary(pdu.command_status)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("system_id", "a" * 16),  # 16 octets + NUL > 16
        ("password", "ninechars"),  # 9 + NUL > 9
        ("system_type", "x" * 13),
        ("address_range", "1" * 41),
    ],
)
def test_overlong_c_strings_are_refused(field: str, value: str) -> None:
    body = replace(Bind(system_id="alertd", password="secret"), **{field: value})  # type: ignore[arg-type]
    with pytest.raises(PduError, match=field):
        encode(Pdu(CommandId.BIND_TRANSMITTER, 1, body))


def test_longest_allowed_c_strings_pass() -> None:
    body = Bind(system_id="a" * 15, password="p" * 8, system_type="t" * 12, address_range="1" * 40)
    assert decode(encode(Pdu(CommandId.BIND_TRANSMITTER, 1, body))).body == body


def test_non_ascii_c_string_is_refused() -> None:
    with pytest.raises(PduError, match="ASCII"):
        encode(Pdu(CommandId.BIND_TRANSMITTER, 1, Bind(system_id="dünkirk", password="x")))


# ── submit_sm ───────────────────────────────────────────────────────────────────────────────

SUBMIT_BONJOUR = h(
    f"""
    00000039 00000004 00000000 00000002
    00
    05 00 416c65727465 00
    {DEST_FR}
    00 00 00
    00 00
    01 00 00 00 07
    426f6e6a6f7572
    """
)
BONJOUR = replace(
    TO_FR,
    source_addr="Alerte",
    source_addr_ton=Ton.ALPHANUMERIC,
    source_addr_npi=Npi.UNKNOWN,
    registered_delivery=1,
    short_message=encode_text("Bonjour", DataCoding.DEFAULT),
)


def test_submit_sm_gsm7() -> None:
    pdu = Pdu(CommandId.SUBMIT_SM, 2, BONJOUR)
    assert encode(pdu) == SUBMIT_BONJOUR
    assert decode(SUBMIT_BONJOUR) == pdu


def test_submit_sm_ucs2() -> None:
    body = replace(
        TO_FR, short_message=encode_text("Tempête", DataCoding.UCS2), data_coding=DataCoding.UCS2
    )
    wire = h(
        f"""
        0000003a 00000004 00000000 00000003
        00  00 00 00  {DEST_FR}  00 00 00  00 00
        00 00 08 00 0e
        0054 0065 006d 0070 00ea 0074 0065
        """
    )
    assert encode(Pdu(CommandId.SUBMIT_SM, 3, body)) == wire
    assert decode_text(decode(wire).body.short_message, 8) == "Tempête"  # type: ignore[union-attr]


def test_submit_sm_concatenated_two_parts() -> None:
    base = TO_FR
    first, second = concatenated(base, ["Hello ", "world"], ref=0x2A)
    assert first.esm_class == second.esm_class == ESM_UDHI
    assert encode(Pdu(CommandId.SUBMIT_SM, 4, first)) == h(
        f"""
        00000038 00000004 00000000 00000004
        00  00 00 00  {DEST_FR}  40 00 00  00 00
        00 00 00 00 0c
        050003 2a 02 01  48656c6c6f20
        """
    )
    assert encode(Pdu(CommandId.SUBMIT_SM, 5, second)) == h(
        f"""
        00000037 00000004 00000000 00000005
        00  00 00 00  {DEST_FR}  40 00 00  00 00
        00 00 00 00 0b
        050003 2a 02 02  776f726c64
        """
    )


def test_concatenated_refuses_parts_that_do_not_fit_a_segment() -> None:
    with pytest.raises(PduError, match="part 2"):
        concatenated(TO_FR, ["a" * 153, "b" * 154], ref=1)
    ucs2 = replace(TO_FR, data_coding=DataCoding.UCS2)
    assert len(concatenated(ucs2, ["ê" * 67, "ê"], ref=1)) == 2
    with pytest.raises(PduError, match="part 1"):
        concatenated(ucs2, ["ê" * 68, "ê"], ref=1)
    with pytest.raises(PduError, match="2 to 255"):
        concatenated(ucs2, ["ê"], ref=1)


def test_message_payload_alternative() -> None:
    body = with_payload(TO_FR, "Bonjour")
    wire = encode(Pdu(CommandId.SUBMIT_SM, 6, body))
    assert wire[-16:] == h("00 00 00 00 00   0424 0007 426f6e6a6f7572")  # sm_length 0, then TLV
    assert decode(wire).body == body


def test_short_message_and_payload_are_exclusive() -> None:
    body = replace(TO_FR, short_message=b"x", tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b"y"),))
    with pytest.raises(PduError, match="exclusive"):
        encode(Pdu(CommandId.SUBMIT_SM, 1, body))


def test_submit_sm_with_sar_tlvs_round_trips() -> None:
    tlvs = (
        Tlv.u16(Tag.SAR_MSG_REF_NUM, 0x1234),
        Tlv.u8(Tag.SAR_TOTAL_SEGMENTS, 2),
        Tlv.u8(Tag.SAR_SEGMENT_SEQNUM, 1),
        Tlv(0x1400, b"vendor"),
    )
    pdu = Pdu(CommandId.SUBMIT_SM, 8, replace(TO_FR, short_message=b"x", tlvs=tlvs))
    wire = encode(pdu)
    assert wire.endswith(h("020c 0002 1234  020e 0001 02  020f 0001 01  1400 0006") + b"vendor")
    assert decode(wire) == pdu


def test_too_long_short_message_is_refused() -> None:
    with pytest.raises(PduError, match="254"):
        encode(Pdu(CommandId.SUBMIT_SM, 1, replace(TO_FR, short_message=b"x" * 255)))


def test_encode_refuses_mismatched_body() -> None:
    with pytest.raises(PduError, match="cannot carry"):
        encode(Pdu(CommandId.ENQUIRE_LINK, 1, BONJOUR))
    with pytest.raises(PduError, match="needs"):
        encode(Pdu(CommandId.SUBMIT_SM, 1))
    with pytest.raises(PduError, match="one octet"):
        encode(Pdu(CommandId.SUBMIT_SM, 1, replace(TO_FR, esm_class=256)))


# ── Responses and statuses ──────────────────────────────────────────────────────────────────


def test_submit_sm_resp_decode() -> None:
    pdu = decode(h("00000019 80000004 00000000 00000002  3566336139633031 00"))  # "5f3a9c01"
    assert pdu == Pdu(CommandId.SUBMIT_SM_RESP, 2, MessageIdResp(message_id="5f3a9c01"))


def test_throttled_submit_sm_resp_without_body() -> None:
    pdu = decode(h("00000010 80000004 00000058 00000002"))
    assert pdu.body is None
    assert pdu.command_status == CommandStatus.ESME_RTHROTTLED
    assert is_temporary(pdu.command_status)


def test_deliver_sm_resp() -> None:
    pdu = respond(Pdu(CommandId.DELIVER_SM, 9), MessageIdResp())
    assert encode(pdu) == h("00000011 80000005 00000000 00000009 00")


@pytest.mark.parametrize(
    ("status", "temporary"),
    [
        (CommandStatus.ESME_RTHROTTLED, True),
        (CommandStatus.ESME_RMSGQFUL, True),
        (CommandStatus.ESME_RSYSERR, True),
        (CommandStatus.ESME_RINVDSTADR, False),
        (CommandStatus.ESME_RINVMSGLEN, False),
        (CommandStatus.ESME_RBINDFAIL, False),
        (CommandStatus.ESME_RINVSYSID, False),
        (CommandStatus.ESME_RINVBNDSTS, True),  # our bind's state: the link is reset
        (CommandStatus.ESME_RX_T_APPN, True),  # temporary by the specification (issue 13)
        (CommandStatus.ESME_RSUBMITFAIL, True),
        (CommandStatus.ESME_RINVSRCADR, False),  # configuration: fails over
        (0x0400, True),  # a vendor code nobody classified: retried, never final
    ],
)
def test_temporary_or_permanent(status: int, temporary: bool) -> None:
    assert is_temporary(status) is temporary


def test_status_values_from_the_specification() -> None:
    assert [
        CommandStatus.ESME_ROK,
        CommandStatus.ESME_RINVMSGLEN,
        CommandStatus.ESME_RINVCMDID,
        CommandStatus.ESME_RINVBNDSTS,
        CommandStatus.ESME_RSYSERR,
        CommandStatus.ESME_RINVDSTADR,
        CommandStatus.ESME_RBINDFAIL,
        CommandStatus.ESME_RINVPASWD,
        CommandStatus.ESME_RINVSYSID,
        CommandStatus.ESME_RMSGQFUL,
        CommandStatus.ESME_RTHROTTLED,
    ] == [0x00, 0x01, 0x03, 0x04, 0x08, 0x0B, 0x0D, 0x0E, 0x0F, 0x14, 0x58]
    assert status_name(0x58) == "ESME_RTHROTTLED (0x00000058)"
    assert status_name(0x401) == "0x00000401"


# ── deliver_sm and receipts ─────────────────────────────────────────────────────────────────

RECEIPT_TEXT = (
    b"id:5f3a9c01 sub:001 dlvrd:001 submit date:2411261530 done date:2411261531"
    b" stat:DELIVRD err:000 text:Bonjour"
)
DELIVER_RECEIPT = (
    h(
        """
        0000009d 00000005 00000000 00000009
        00
        01 01 3333363132333435363738 00
        05 00 416c65727465 00
        04 00 00  00 00
        00 00 00 00 6b
        """
    )
    + RECEIPT_TEXT
)


def test_deliver_sm_receipt_text_form() -> None:
    pdu = decode(DELIVER_RECEIPT)
    assert pdu.command_id is CommandId.DELIVER_SM
    assert isinstance(pdu.body, ShortMessage)
    assert pdu.body.source_addr == "33612345678"
    receipt = receipt_of(pdu.body)
    assert receipt == DeliveryReceipt(
        message_id="5f3a9c01", stat="DELIVRD", err="000", done_date="2411261531", text="Bonjour"
    )
    assert receipt.status is ReceiptStatus.DELIVERED


DELIVER_TLVS = h(
    """
    00000044 00000005 00000000 00000009
    00  01 01 3333363132333435363738 00  05 00 416c65727465 00
    04 00 00  00 00  00 00 00 00 00
    001e 0009 3566336139633031 00
    0427 0001 05
    """
)


def test_deliver_sm_receipt_tlvs() -> None:
    body = decode(DELIVER_TLVS).body
    assert isinstance(body, ShortMessage)
    receipt = receipt_of(body)
    assert receipt is not None
    assert (receipt.message_id, receipt.stat) == ("5f3a9c01", "UNDELIV")
    assert receipt.status is ReceiptStatus.FAILED


def test_receipt_tlvs_win_over_text() -> None:
    body = ShortMessage(
        destination_addr="Alerte",
        esm_class=0x04,
        short_message=b"id:123 sub:001 dlvrd:000 stat:UNDELIV err:069",
        tlvs=(Tlv.cstring(Tag.RECEIPTED_MESSAGE_ID, "7b"), Tlv.u8(Tag.MESSAGE_STATE, 2)),
    )
    receipt = receipt_of(body)
    assert receipt is not None
    assert (receipt.message_id, receipt.stat, receipt.err) == ("7b", "DELIVRD", "069")


def test_inbound_deliver_sm_is_not_a_receipt() -> None:
    body = ShortMessage(destination_addr="38000", short_message=b"STOP")
    assert receipt_of(body) is None
    assert decode_text(body.short_message, 0) == "STOP"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id:A1 stat:EXPIRED err:000", ("A1", "EXPIRED", ReceiptStatus.EXPIRED)),
        ("ID:A1 SUB:001 DLVRD:000 STAT:undeliv ERR:001", ("A1", "undeliv", ReceiptStatus.FAILED)),
        ("id:9 stat:ENROUTE text:stat:DELIVRD id:x", ("9", "ENROUTE", ReceiptStatus.BUFFERED)),
        ("id:9 stat:WEIRD", ("9", "WEIRD", None)),
    ],
)
def test_receipt_text_variants(text: str, expected: tuple[str, str, ReceiptStatus | None]) -> None:
    receipt = parse_receipt_text(text)
    assert (receipt.message_id, receipt.stat, receipt.status) == expected


def test_receipt_without_id_is_an_error() -> None:
    with pytest.raises(PduError, match="not a delivery receipt"):
        receipt_of(ShortMessage(destination_addr="x", esm_class=4, short_message=b"hello"))


# ── Text ────────────────────────────────────────────────────────────────────────────────────


def test_gsm7_unpacked_with_escapes() -> None:
    assert encode_text("@[€]", DataCoding.DEFAULT) == h("00 1b3c 1b65 1b3e")
    assert decode_text(h("00 1b3c 1b65 1b3e"), 0) == "@[€]"


def test_gsm7_names_the_characters_it_cannot_send() -> None:
    with pytest.raises(PduError, match=r"'ê', 'ô'"):
        encode_text("fenêtre côté", DataCoding.DEFAULT)


# ── Strict decoding ─────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("wire", "message", "status"),
    [
        (h("0000000f 00000015 00000000"), "shorter than the 16-octet header", 0x08),
        (h("0000000f 00000015 00000000 00000001"), "command_length 15", 0x02),
        (h("00100001 00000015 00000000 00000001"), "command_length 1048577", 0x02),
        (h("00000011 00000015 00000000 00000001"), "says 17 octets, the PDU has 16", 0x02),
        (h("00000010 00000003 00000000 00000001"), "unknown command_id 0x00000003", 0x03),
        (h("00000011 00000015 00000000 00000001 00"), "1 unexpected octets", 0x08),
        (h("00000013 80000004 00000000 00000001 414243"), "no NUL terminator", 0x08),
        (SUBMIT_BONJOUR[:-8] + b"\x08Bonjour", "short_message needs 8", 0x01),
    ],
    ids=[
        "short-buffer",
        "length-under-16",
        "length-over-max",
        "length-mismatch",
        "unknown-command",
        "body-on-enquire-link",
        "no-terminator",
        "sm-length-past-end",
    ],
)
def test_malformed_pdus_raise_pdu_error(wire: bytes, message: str, status: int) -> None:
    with pytest.raises(PduError, match=message) as caught:
        decode(wire)
    assert caught.value.status == status


def test_tlv_running_past_the_end() -> None:
    wire = DELIVER_TLVS[:-1]  # message_state says one octet, none left
    wire = (len(wire)).to_bytes(4, "big") + wire[4:]
    with pytest.raises(PduError, match="TLV 0x0427 of 1 octets runs past") as caught:
        decode(wire)
    assert caught.value.sequence_number == 9
    stray = DELIVER_TLVS + b"\x04\x27"
    with pytest.raises(PduError, match="stray"):
        decode(len(stray).to_bytes(4, "big") + stray[4:])


def test_sm_length_over_254_is_refused() -> None:
    prefix = SUBMIT_BONJOUR[16:-8]  # body up to sm_length
    body = prefix + b"\xff" + b"x" * 255
    wire = (16 + len(body)).to_bytes(4, "big") + SUBMIT_BONJOUR[4:16] + body
    with pytest.raises(PduError, match="sm_length 255"):
        decode(wire)


COMMANDS = st.sampled_from([int(c) for c in CommandId] + [0x03, 0x103, 0x80000003])


@st.composite
def plausible_pdus(draw: st.DrawFn) -> bytes:
    """A well-framed header over random bytes, so that decoding reaches the bodies."""
    body = draw(st.binary(max_size=300))
    command = draw(COMMANDS)
    status = draw(st.sampled_from([0, 8, 0x58]))
    header = (16 + len(body)).to_bytes(4, "big") + command.to_bytes(4, "big")
    return header + status.to_bytes(4, "big") + draw(st.binary(min_size=4, max_size=4)) + body


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=400), plausible_pdus()))
def test_random_bytes_only_ever_raise_pdu_error(data: bytes) -> None:
    try:
        pdu = decode(data)
        wire = encode(pdu)  # may refuse what decode tolerates (a non-ASCII or odd time field)
    except PduError:
        return
    assert decode(wire) == pdu


KNOWN_GOOD = [BIND_TRANSCEIVER, SUBMIT_BONJOUR, DELIVER_RECEIPT, DELIVER_TLVS]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(KNOWN_GOOD),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=3),
    st.integers(0, 8),
)
def test_mutated_pdus_only_ever_raise_pdu_error(
    wire: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    """Valid PDUs with a few octets changed and the tail cut, the header length kept true, so
    that decoding goes deep into bodies, TLVs and receipts."""
    mutated = bytearray(wire[: len(wire) - cut])
    for index, value in flips:
        if 16 <= index < len(mutated):
            mutated[index] = value
    mutated[:4] = len(mutated).to_bytes(4, "big")
    try:
        pdu = decode(mutated)
        if isinstance(pdu.body, ShortMessage):
            receipt_of(pdu.body)
    except PduError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120), st.integers(min_value=1, max_value=0x7FFFFFFF))
def test_short_messages_round_trip(payload: bytes, sequence: int) -> None:
    pdu = Pdu(CommandId.DELIVER_SM, sequence, replace(TO_FR, short_message=payload))
    assert decode(encode(pdu)) == pdu


# ── Streaming ───────────────────────────────────────────────────────────────────────────────


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=6), st.data())
def test_split_frames_reassembles_any_chunking(picks: list[int], data: st.DataObject) -> None:
    pool = [ENQUIRE_LINK, BIND_TRANSCEIVER, SUBMIT_BONJOUR, DELIVER_RECEIPT]
    frames = [pool[i] for i in picks]
    stream = b"".join(frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    buffer, seen = bytearray(), []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        buffer += stream[start:end]
        complete, buffer = split_frames(buffer)
        seen += complete
    assert seen == frames
    assert buffer == bytearray()


def test_split_frames_keeps_a_partial_pdu_and_refuses_a_bad_length() -> None:
    frames, rest = split_frames(bytearray(ENQUIRE_LINK + SUBMIT_BONJOUR[:20]))
    assert frames == [ENQUIRE_LINK]
    assert rest == SUBMIT_BONJOUR[:20]
    assert split_frames(bytearray(b"\x00\x00")) == ([], bytearray(b"\x00\x00"))
    with pytest.raises(PduError, match="command_length"):
        split_frames(bytearray((MAX_PDU_LENGTH + 1).to_bytes(4, "big")))


# ── Cross-check against smpp34, a codec nobody here wrote ───────────────────────────────────


def test_cross_check_with_smpp34() -> None:
    smpp34 = pytest.importorskip("smpp34")
    theirs = smpp34.SubmitSm(
        "Alerte",
        "33612345678",
        b"Bonjour",
        source_addr_ton=5,
        source_addr_npi=0,
        dest_addr_ton=1,
        dest_addr_npi=1,
        registered_delivery=1,
        sequence_number=2,
    )
    assert theirs.encode() == SUBMIT_BONJOUR
    first = concatenated(TO_FR, ["Hello ", "world"], ref=0x2A)[0]
    parsed = smpp34.decode(encode(Pdu(CommandId.SUBMIT_SM, 4, first)))
    assert (parsed.esm_class, parsed.short_message) == (0x40, first.short_message)
    receipt = smpp34.DeliverSm(
        "33612345678",
        "Alerte",
        source_addr_ton=1,
        source_addr_npi=1,
        dest_addr_ton=5,
        esm_class=4,
        tlvs=[
            smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, b"5f3a9c01\x00"),
            smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, b"\x05"),
        ],
        sequence_number=9,
    )
    assert receipt.encode() == DELIVER_TLVS
