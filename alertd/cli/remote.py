"""The CLI's HTTP client: a duty officer's commands sent to ``alertd serve``'s API (ALERTD_URL,
``[operator] url``) with their token, from a workstation that holds neither database access nor
gateway secrets.

Only HTTP here: the API answers the same jsonable shapes the CLI prints, and its problem details
carry the CLI's messages; their status becomes the CLI's exit code (README, "Exit codes"). A rate
limit (429) or a request still running elsewhere (409 with Retry-After) is waited out and retried
with the same Idempotency-Key, so a retried send never sends twice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog

from alertd.errors import (
    AlertdError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
)

log = structlog.get_logger(__name__)

MAX_WAITS = 10  # 429 / 409-in-progress answers waited out before giving up
MAX_WAIT_S = 30.0  # a Retry-After beyond this is capped: a person is waiting at the keyboard
TIMEOUT_S = 120.0  # a send of a large alert writes its deliveries before answering


class ApiUnavailableError(AlertdError):
    """The API cannot be reached, or failed on its side (5xx)."""

    exit_code = 69  # EX_UNAVAILABLE, as for the database on the direct path


_BY_STATUS: dict[int, type[AlertdError]] = {
    400: InputError,
    401: ForbiddenError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: InputError,
    422: InputError,
}


def problem_error(status: int, body: object) -> AlertdError:
    """The error a problem detail (RFC 9457) stands for, with its ``detail`` as the message."""
    detail = body.get("detail") if isinstance(body, Mapping) else None
    message = str(detail) if detail else f"the API answered HTTP {status}"
    if status >= 500 or status not in _BY_STATUS:
        return ApiUnavailableError(f"the alertd API failed (HTTP {status}): {message}")
    return _BY_STATUS[status](message)


def retry_after(headers: Mapping[str, str]) -> float:
    try:
        return min(max(float(headers.get("Retry-After", "1")), 0.0), MAX_WAIT_S)
    except ValueError:
        return 1.0


@dataclass
class Remote:
    """One command's conversation with the API; ``key`` is this invocation's Idempotency-Key,
    sent with every request that sends and reused by its retries."""

    url: str  # http://host:port, without /v1
    token: str = field(repr=False)
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    _session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Remote:
        if not self.token:
            raise ForbiddenError(
                "no operator: set ALERTD_OPERATOR_TOKEN to your token (`alertd operators add` "
                "shows it once; an admin can rotate it)"
            )
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
            headers={"Authorization": f"Bearer {self.token}"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(self, path: str, **query: object) -> Any:
        params = {k: str(v) for k, v in query.items() if v is not None}
        return await self._call("GET", path, None, params, sends=False)

    async def post(
        self, path: str, body: Mapping[str, Any] | None = None, *, sends: bool = False
    ) -> Any:
        return await self._call("POST", path, dict(body or {}), {}, sends=sends)

    async def _call(
        self, method: str, path: str, body: object, params: dict[str, str], *, sends: bool
    ) -> Any:
        headers = {"Idempotency-Key": self.key} if sends else {}
        for _ in range(MAX_WAITS):
            status, answer, wait = await self._once(method, path, body, params, headers)
            if wait is None:
                if status >= 400:
                    raise problem_error(status, answer)
                return answer
            log.info("remote.wait", path=path, status=status, seconds=wait)
            await asyncio.sleep(wait)
        raise ApiUnavailableError(
            f"the alertd API at {self.url} kept asking to wait ({MAX_WAITS} times): try again "
            "in a minute"
        )

    async def _once(
        self, method: str, path: str, body: object, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, object, float | None]:
        """(status, decoded body, seconds to wait before retrying or None)."""
        assert self._session is not None  # noqa: S101 - used inside `async with`
        try:
            async with self._session.request(
                method, f"{self.url}/v1{path}", json=body, params=params, headers=headers
            ) as resp:
                text = await resp.text()
                waits = resp.status == 429 or (resp.status == 409 and "Retry-After" in resp.headers)
                wait = retry_after(resp.headers) if waits else None
                return resp.status, _decode(text), wait
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ApiUnavailableError(
                f"cannot reach the alertd API at {self.url} ({reason}): is `alertd serve` "
                "running there with api_listen, and ALERTD_URL right?"
            ) from None


def _decode(text: str) -> object:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return {"detail": text[:200]}
