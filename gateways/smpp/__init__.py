"""SMPP 3.4 for alertd: an asyncio client (ESME) bound as a transceiver to an operator's SMSC.

The modules, from the bytes up: `codes` (command ids, statuses, numbering), `fields` and `tlv`
(what bodies are made of), `bodies`, `pdu` (header, encode, decode, framing), `text` (data coding,
splitting, concatenation), `receipts` (what a deliver_sm carries), `session` (the connection and
the bind), `gateway` (the Gateway protocol over a session).
"""

from gateways.smpp.codes import CommandStatus, PduError
from gateways.smpp.gateway import SmppGateway
from gateways.smpp.link import SmppBindError, SmppError
from gateways.smpp.text import data_coding_for, split_text

__all__ = [
    "CommandStatus",
    "PduError",
    "SmppBindError",
    "SmppError",
    "SmppGateway",
    "data_coding_for",
    "split_text",
]
