"""The numbers of SMPP 3.4: command ids, command statuses, type of number, numbering plan indicator,
data coding, esm_class bits; and `PduError`, which carries the command_status to answer with."""

from __future__ import annotations

import enum
from typing import Final

INTERFACE_VERSION: Final = 0x34
RESPONSE_BIT: Final = 0x80000000

ESM_DELIVERY_RECEIPT: Final = 0x04  # esm_class message type: SMSC delivery receipt
ESM_UDHI: Final = 0x40  # esm_class: short_message starts with a user data header


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
    """SMPP 3.4 section 5.1.3; the values 0x0400-0x04FF are the SMSC vendor's own."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RCANCELFAIL = 0x11
    ESME_RREPLACEFAIL = 0x13
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVNUMDESTS = 0x33
    ESME_RINVDLNAME = 0x34
    ESME_RINVDESTFLAG = 0x40
    ESME_RINVSUBREP = 0x42
    ESME_RINVESMCLASS = 0x43
    ESME_RCNTSUBDL = 0x44
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RINVSYSTYP = 0x53
    ESME_RINVREPFLAG = 0x54
    ESME_RINVNUMMSGS = 0x55
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVDFTMSGID = 0x63
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RQUERYFAIL = 0x67
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF


def is_temporary(status: int) -> bool:
    """True when the same submission may succeed later (see `gateways.smpp.statuses`)."""
    from gateways.smpp.statuses import PERMANENT, classify  # noqa: PLC0415 - no import cycle

    return classify(status) not in (PERMANENT, "configuration", "ok")


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
