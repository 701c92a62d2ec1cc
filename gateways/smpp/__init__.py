"""SMPP 3.4 for alertd: an asyncio client (ESME) with a pool of binds to an operator's SMSC.

The modules, from the bytes up: `codes` (command ids, statuses, numbering), `fields` and `tlv`
(what bodies are made of), `bodies`, `pdu` (header, encode, decode, framing), `text` (data coding,
splitting, concatenation, SAR), `addressing` (TON/NPI, validity), `receipts` (what a deliver_sm
carries), `ids` (message ids in two bases), `statuses` (what a command_status means), `link` and
`session` (one connection and its bind), `gate` (a bind's throttle pause), `pool` (the binds),
`gateway` (the Gateway protocol over the pool).
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
