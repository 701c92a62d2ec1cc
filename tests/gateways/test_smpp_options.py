"""Issue 13, case 8: what production SMPP clients offer. TLS with a CA file, transmitter and
receiver binds side by side, source/destination TON/NPI, the data_coding 0 charset, the
validity period from the alert's expiry, the priority flag for life-safety, message_payload.
Against the project's SMSC simulator."""

from __future__ import annotations

import ssl
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alertd.tools.smsc_sim import Faults, Smsc
from gateways.base import Outcome, Receipt
from gateways.smpp import SmppError, codes, tlv
from tests.gateways.test_smpp_sim import gateway, msg, running, started
from tests.support.gateway_contract import next_events


def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "smsc.pem", tmp_path / "smsc.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=smsc.test",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_tls_with_the_operators_ca(tmp_path: Path) -> None:
    cert, key = certificate(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    smsc = Smsc(Faults(receipts=True))
    port = await smsc.start(tls=server)
    try:
        client = ssl.create_default_context(cafile=str(cert))
        async with started(port, tls=client) as g:
            [result] = await g.submit([msg()])
            assert result.outcome is Outcome.ACCEPTED
            [event] = await next_events(g, 1)
            assert isinstance(event, Receipt) and event.message_id == result.message_id
        untrusted = ssl.create_default_context()  # the system's CAs do not know this SMSC
        g = gateway(port, tls=untrusted)
        try:
            with pytest.raises(SmppError, match="TLS handshake failed"):
                await g.start()
        finally:
            await g.close()
    finally:
        await smsc.stop()


async def test_transmitter_and_receiver_binds_side_by_side() -> None:
    options = {"bind": "transmitter+receiver", "binds": 2}
    async with running(receipts=True) as (smsc, port), started(port, **options) as g:
        assert sorted(c.kind or "" for c in smsc.conns) == [
            "receiver", "receiver", "transmitter", "transmitter",
        ]  # fmt: skip
        results = await g.submit([msg(i) for i in range(4)])
        events = await next_events(g, 4)
        assert {e.message_id for e in events if isinstance(e, Receipt)} == {
            r.message_id for r in results
        }
        senders = {s.bind for s in smsc.submits}
        assert all(smsc.conns[b].kind == "transmitter" for b in senders)


async def test_ton_npi_charset_validity_and_priority() -> None:
    options = {
        "source_ton": 2, "source_npi": 8, "dest_ton": 2, "dest_npi": 8,
        "default_charset": "latin1", "urgent_priority": 3,
    }  # fmt: skip
    expires = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
    async with (
        running() as (smsc, port),
        started(port, wallclock=lambda: expires - timedelta(hours=2), **options) as g,
    ):
        urgent = msg(0, "Évacuez", expires_at=expires, urgent=True)
        plain = msg(1, "Collecte reportée")
        euro = msg(2, "Coût: 5 €")  # no euro sign in Latin-1: UCS-2, never a '?'
        results = await g.submit([urgent, plain, euro])
        assert {r.outcome for r in results} == {Outcome.ACCEPTED}
        first, second, third = (s.body for s in smsc.submits)
        assert (first.source_addr_ton, first.source_addr_npi) == (2, 8)
        assert (first.dest_addr_ton, first.dest_addr_npi) == (2, 8)
        assert (first.data_coding, first.short_message) == (0, "Évacuez".encode("latin-1"))
        assert first.validity_period == "261201183000000+"
        assert (first.priority_flag, second.priority_flag) == (3, 0)
        assert second.validity_period == ""
        assert third.data_coding == codes.DataCoding.UCS2


async def test_message_payload_from_the_configuration() -> None:
    text = "Alerte submersion. " * 12
    async with running() as (smsc, port), started(port, long_messages="payload") as g:
        [result] = await g.submit([msg(text=text, segments=2)])
        assert result.outcome is Outcome.ACCEPTED and result.part_ids == ()
        [sent] = smsc.submits
        payload = {t.tag: t.value for t in sent.body.tlvs}[tlv.Tag.MESSAGE_PAYLOAD]
        assert sent.body.short_message == b"" and payload.decode("gsm03.38") == text
