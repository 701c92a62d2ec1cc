"""One service SMS to a resident, now, through a gateway: a STOP's confirmation, a keyword's
answer, a sign-up code. Through the gateway's own submit, so its rate and window hold; never
retried into a second copy (a lost one is logged, the number masked, the text never)."""

from __future__ import annotations

import uuid

from alertd.logs import get_logger, mask_phone
from gateways.base import Gateway, GatewayError, Message, Outcome
from templates import segments

log = get_logger(__name__)


async def send_service_sms(gateway: Gateway, to: str, text: str, ref: str | None = None) -> bool:
    """Hand one SMS to ``gateway``; True when the gateway took it."""
    message = Message(ref or f"svc:{uuid.uuid4().hex}", to, text, segments(text))
    try:
        [result] = await gateway.submit([message])
        reason = None if result.outcome is Outcome.ACCEPTED else result.reason
    except (GatewayError, OSError) as exc:
        reason = str(exc)
    if reason is not None:
        log.warning("service_sms.not_sent", to=mask_phone(to), gateway=gateway.name, reason=reason)
        return False
    log.info("service_sms.sent", to=mask_phone(to), gateway=gateway.name)
    return True
