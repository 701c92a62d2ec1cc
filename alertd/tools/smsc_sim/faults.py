"""What the simulated SMSC does, and how it misbehaves: one mutable record per simulator, read
on every PDU (tests change it between steps). The defaults accept everything, as the benchmark
expects; every other value is a way a real operator's SMSC was seen to differ."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Faults:
    latency: float = 0.0  # seconds before a submit_sm is answered
    password: str | None = None  # None: any; else a wrong one gets ESME_RINVPASWD
    max_binds: int = 0  # 0: unlimited; beyond, a bind gets ESME_RBINDFAIL
    unbind_after_bind: bool = False  # unbind in the same write as the bind_resp
    close_after_bind: bool = False  # bind_resp, then the connection closed at once
    resp_id_base: str = "dec"  # submit_sm_resp message ids: dec or hex
    receipt_id_base: str = "dec"  # the receipt text's id: dec or hex
    tlv_id_base: str = "dec"  # the receipted_message_id TLV's: dec or hex
    receipts: bool = False  # send a delivery receipt for each submit_sm asking for one
    receipt_form: str = "text"  # text, tlv (TLVs, no id in the text) or both
    receipt_esm_class: int = 0x04  # some SMSCs send 0: recognised by content only
    receipt_coding: int = 0x00  # 0x08: the receipt text in UCS-2
    receipt_delay: float = 0.0
    undelivered_parts: frozenset[int] = frozenset()  # UDH part numbers whose receipt is UNDELIV
    resp_tlvs: bool = False  # TLVs in submit_sm_resp (SMPP 5 style)
    empty_id: bool = False  # ESME_ROK with an empty message id
    throttle_per_s: float = 0.0  # per bind; beyond, ESME_RTHROTTLED (0: no limit)
    throttle_status: int = 0x58  # ESME_RTHROTTLED; ESME_RMSGQFUL (0x14) also seen
    status_by_destination: dict[str, int] = field(default_factory=dict)  # the answer per number
    part_status_once: dict[int, int] = field(default_factory=dict)  # part number -> one answer
    hold: bool = False  # answer no submit_sm until released (see Smsc.release)
