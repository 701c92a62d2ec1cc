"""The PDU bodies alertd needs, as dataclasses that encode themselves and read themselves from a
`Reader`: bind (all three kinds), the bind responses, submit_sm / deliver_sm and their
responses. Which command carries which body is `BODY_TYPES`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Self

from gateways.smpp.codes import (
    INTERFACE_VERSION,
    CommandId,
    CommandStatus,
    DataCoding,
    Npi,
    PduError,
    Ton,
)
from gateways.smpp.fields import Reader, cstring, time_string, u8s
from gateways.smpp.tlv import Tag, Tlv, encode_tlvs, find_tlv, read_tlvs

MAX_SHORT_MESSAGE: Final = 254  # octets, sm_length's ceiling in the specification


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
                cstring("system_id", self.system_id, 16),
                cstring("password", self.password, 9),
                cstring("system_type", self.system_type, 13),
                u8s(
                    interface_version=self.interface_version,
                    addr_ton=self.addr_ton,
                    addr_npi=self.addr_npi,
                ),
                cstring("address_range", self.address_range, 41),
            )
        )

    @classmethod
    def read(cls, r: Reader) -> Self:
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
        return cstring("system_id", self.system_id, 16) + encode_tlvs(self.tlvs)

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(system_id=r.cstring("system_id", 16), tlvs=read_tlvs(r))


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageIdResp:
    """The body of submit_sm_resp (the SMSC's message id) and deliver_sm_resp (unused, empty).
    Some SMSCs add TLVs (SMPP 5 allows them; a 3.4 peer must not choke on them); some omit even
    the message_id's NUL of an empty id."""

    message_id: str = ""
    tlvs: tuple[Tlv, ...] = ()

    def encode(self) -> bytes:
        return cstring("message_id", self.message_id, 65) + encode_tlvs(self.tlvs)

    @classmethod
    def read(cls, r: Reader) -> Self:
        if not r.remaining():
            return cls()
        return cls(message_id=r.cstring("message_id", 65), tlvs=read_tlvs(r))


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
                cstring("service_type", self.service_type, 6),
                u8s(source_addr_ton=self.source_addr_ton, source_addr_npi=self.source_addr_npi),
                cstring("source_addr", self.source_addr, 21),
                u8s(dest_addr_ton=self.dest_addr_ton, dest_addr_npi=self.dest_addr_npi),
                cstring("destination_addr", self.destination_addr, 21),
                u8s(
                    esm_class=self.esm_class,
                    protocol_id=self.protocol_id,
                    priority_flag=self.priority_flag,
                ),
                time_string("schedule_delivery_time", self.schedule_delivery_time),
                time_string("validity_period", self.validity_period),
                u8s(
                    registered_delivery=self.registered_delivery,
                    replace_if_present_flag=self.replace_if_present_flag,
                    data_coding=self.data_coding,
                    sm_default_msg_id=self.sm_default_msg_id,
                    sm_length=len(self.short_message),
                ),
                self.short_message,
                encode_tlvs(self.tlvs),
            )
        )

    @classmethod
    def read(cls, r: Reader) -> Self:
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
            tlvs=read_tlvs(r),
        )


def _read_short_message(r: Reader) -> bytes:
    sm_length = r.u8("sm_length")
    if sm_length > MAX_SHORT_MESSAGE:
        raise PduError(f"sm_length {sm_length} is over 254", CommandStatus.ESME_RINVMSGLEN)
    return r.octets("short_message", sm_length)


Body = Bind | BindResp | MessageIdResp | ShortMessage | None

BODY_TYPES: Final[dict[CommandId, type[Bind | BindResp | MessageIdResp | ShortMessage]]] = {
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
