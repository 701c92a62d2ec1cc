"""What a submit_sm_resp's command_status means for the message and for the gateway, after
SMPP 3.4 section 5.1.3, overridable per gateway (``status_overrides``), since SMSCs differ:

- ``throttled``: the SMSC is up and asks us to slow down (pause the bind, send again);
- ``temporary``: may succeed later or through another gateway (ESME_RSYSERR, ESME_RX_T_APPN,
  ESME_RSUBMITFAIL, a vendor code nobody classified);
- ``permanent``: this message or this number will not go, through any gateway (ESME_RINVDSTADR,
  ESME_RX_P_APPN, ESME_RINVMSGLEN);
- ``configuration``: nothing will go through this gateway as configured (the sender address,
  its TON/NPI, the service type): the breaker opens and the dispatcher fails over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from gateways.smpp.codes import CommandStatus as S

OK, THROTTLED, TEMPORARY = "ok", "throttled", "temporary"
PERMANENT, CONFIGURATION = "permanent", "configuration"
CLASSES: Final = (THROTTLED, TEMPORARY, PERMANENT, CONFIGURATION)

TABLE: Final[Mapping[int, str]] = {
    S.ESME_ROK: OK,
    S.ESME_RTHROTTLED: THROTTLED,
    S.ESME_RMSGQFUL: THROTTLED,
    # temporary: the SMSC or the network failed this time
    S.ESME_RSYSERR: TEMPORARY,
    S.ESME_RINVBNDSTS: TEMPORARY,  # our bind's state: the link is reset, the message sent again
    S.ESME_RSUBMITFAIL: TEMPORARY,
    S.ESME_RX_T_APPN: TEMPORARY,  # "ESME Receiver Temporary App Error Code"
    S.ESME_RDELIVERYFAILURE: TEMPORARY,
    S.ESME_RUNKNOWNERR: TEMPORARY,
    # permanent: this message or this number
    S.ESME_RINVMSGLEN: PERMANENT,
    S.ESME_RINVCMDLEN: PERMANENT,
    S.ESME_RINVCMDID: PERMANENT,
    S.ESME_RINVDSTADR: PERMANENT,
    S.ESME_RINVNUMDESTS: PERMANENT,
    S.ESME_RINVDESTFLAG: PERMANENT,
    S.ESME_RX_P_APPN: PERMANENT,
    S.ESME_RX_R_APPN: PERMANENT,
    # configuration: every message through this gateway would get the same answer
    S.ESME_RALYBND: CONFIGURATION,
    S.ESME_RINVPRTFLG: CONFIGURATION,
    S.ESME_RINVREGDLVFLG: CONFIGURATION,
    S.ESME_RINVSRCADR: CONFIGURATION,
    S.ESME_RBINDFAIL: CONFIGURATION,
    S.ESME_RINVPASWD: CONFIGURATION,
    S.ESME_RINVSYSID: CONFIGURATION,
    S.ESME_RINVSERTYP: CONFIGURATION,
    S.ESME_RINVESMCLASS: CONFIGURATION,
    S.ESME_RINVSRCTON: CONFIGURATION,
    S.ESME_RINVSRCNPI: CONFIGURATION,
    S.ESME_RINVDSTTON: CONFIGURATION,  # alertd's dest_addr_ton, the same for every number
    S.ESME_RINVDSTNPI: CONFIGURATION,
    S.ESME_RINVSYSTYP: CONFIGURATION,
    S.ESME_RINVSCHED: CONFIGURATION,
    S.ESME_RINVEXPIRY: CONFIGURATION,  # validity_period as alertd writes it
    S.ESME_RINVDFTMSGID: CONFIGURATION,
    S.ESME_RINVOPTPARSTREAM: CONFIGURATION,
    S.ESME_ROPTPARNOTALLWD: CONFIGURATION,  # message_payload or SAR where the SMSC has none
    S.ESME_RINVPARLEN: CONFIGURATION,
    S.ESME_RMISSINGOPTPARAM: CONFIGURATION,
    S.ESME_RINVOPTPARAMVAL: CONFIGURATION,
}


def classify(status: int, overrides: Mapping[int, str] | None = None) -> str:
    """ok, throttled, temporary, permanent or configuration; a status in no table (a vendor's
    code) is temporary: retried, then failed over, never a silent final rejection."""
    if overrides and status in overrides:
        return overrides[status]
    return TABLE.get(status, TEMPORARY)


def parse_overrides(raw: Mapping[str, str]) -> dict[int, str]:
    """``{"0x00000400": "temporary"}`` (or a decimal key) as {status: class}; ValueError
    naming the bad entry."""
    parsed: dict[int, str] = {}
    for key, value in raw.items():
        try:
            status = int(str(key), 0)
        except ValueError:
            raise ValueError(f'status {key!r} is not a number (write it as "0x00000400")') from None
        if not 0 < status <= 0xFFFFFFFF:
            raise ValueError(f"status {key!r} is out of range")
        if value not in CLASSES:
            raise ValueError(f"status {key}: {value!r} is not one of {', '.join(CLASSES)}")
        parsed[status] = str(value)
    return parsed
