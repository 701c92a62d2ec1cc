"""Message ids in two bases: SMSCs that answer submit_sm with an id in hexadecimal and write the
receipt's id in decimal (or the reverse), as Kannel's ``msg-id-type`` and Jasmin's
``dlr_msg_id_bases`` know. Both sides are turned into one canonical form, so that the id the
outbox keeps from submit_sm_resp equals the one a receipt names.

``receipt_id_format`` (per gateway):

- ``auto`` (default): ids are kept in lower case without leading zeros; a receipt's id is tried
  as given first, then read as decimal written in hex, then as hex written in decimal: the
  outbox takes the first that names a message of this gateway;
- ``as_is``: compared exactly as the SMSC wrote them;
- ``dec``, ``hex``: both in that base; ``hex/dec``: submit_sm_resp in hex, receipts in decimal
  (Kannel's msg-id-type 1, Jasmin's 1); ``dec/hex``: the reverse (msg-id-type 2, Jasmin's 2).
  The canonical form is the number in decimal.
"""

from __future__ import annotations

import string
from typing import Final

FORMATS: Final = ("auto", "as_is", "dec", "hex", "hex/dec", "dec/hex")
_BASES: Final = {"dec": (10, 10), "hex": (16, 16), "hex/dec": (16, 10), "dec/hex": (10, 16)}
_HEX: Final = frozenset(string.hexdigits)


def _plain(message_id: str) -> str:
    """A number (decimal or hex digits only): lower case, leading zeros forgiven ("0" stays
    "0"); any other id as given."""
    text = message_id.strip()
    if not text or not set(text) <= _HEX:
        return message_id
    return text.lower().lstrip("0") or "0"


def _number(message_id: str, base: int) -> str | None:
    try:
        return str(int(message_id.strip(), base))
    except ValueError:
        return None


def submitted(message_id: str, fmt: str) -> str:
    """The canonical form of a submit_sm_resp's message id."""
    if fmt == "as_is" or not message_id:
        return message_id
    if fmt == "auto":
        return _plain(message_id)
    return _number(message_id, _BASES[fmt][0]) or _plain(message_id)


def received(message_id: str, fmt: str) -> tuple[str, ...]:
    """The canonical forms a receipt's id may stand for, the likeliest first."""
    if fmt == "as_is":
        return (message_id,)
    if fmt != "auto":
        return (_number(message_id, _BASES[fmt][1]) or _plain(message_id),)
    forms = [_plain(message_id)]
    text = message_id.strip()
    if text.isdigit():
        forms.append(_plain(f"{int(text):x}"))  # decimal here, hex in submit_sm_resp
    if text and set(text) <= _HEX:
        forms.append(str(int(text, 16)))  # hex here, decimal in submit_sm_resp
    return tuple(dict.fromkeys(forms))
