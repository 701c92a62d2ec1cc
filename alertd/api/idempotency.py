"""``Idempotency-Key``: a retried request that sends gets the first response, and sends nothing.

The key is claimed in PostgreSQL before the work (so two daemons behind a load balancer agree),
with a hash of the request; a success's response is stored after it. A refusal (4xx), a 5xx or
a crash releases the key: nothing was done, so the client's retry does the work.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from alertd.api.problems import ApiProblem

MAX_KEY = 255
# How long a key holds: a client retries within minutes; a day covers a night's outage.
KEEP_S = 86_400


@dataclass(frozen=True, slots=True)
class Stored:
    status: int
    body: Any


def key_of(header: str | None, *, required: bool) -> str | None:
    if header is None:
        if required:
            raise ApiProblem(
                400,
                "this request sends messages: give an Idempotency-Key header (a unique value "
                "per action, e.g. a UUID) so that a retry never sends twice",
            )
        return None
    key = header.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ApiProblem(400, f"the Idempotency-Key must be 1 to {MAX_KEY} printable characters")
    return key


def request_hash(method: str, path: str, body: object) -> bytes:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).digest()


async def claim(pool: asyncpg.Pool, operator_id: int, key: str, digest: bytes) -> Stored | None:
    """None: the key is ours, do the work. Else the first response, to send again."""
    inserted = await pool.fetchval(
        "INSERT INTO api_idempotency_keys (operator_id, key, request_hash) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING RETURNING true",
        operator_id,
        key,
        digest,
    )
    if inserted:
        return None
    row = await pool.fetchrow(
        "SELECT request_hash, response_status, response_body FROM api_idempotency_keys "
        "WHERE operator_id = $1 AND key = $2",
        operator_id,
        key,
    )
    if row is None:  # released between our insert and our read: the first request failed
        return await claim(pool, operator_id, key, digest)
    if bytes(row["request_hash"]) != digest:
        raise ApiProblem(
            422,
            f"Idempotency-Key {key!r} was used for a different request: use a new key for a new "
            "action",
        )
    if row["response_status"] is None:
        raise ApiProblem(
            409,
            f"the request with Idempotency-Key {key!r} is still being processed; retry in a moment",
            {"Retry-After": "1"},
        )
    return Stored(row["response_status"], json.loads(row["response_body"]))


async def store(pool: asyncpg.Pool, operator_id: int, key: str, status: int, body: Any) -> None:
    await pool.execute(
        "UPDATE api_idempotency_keys SET response_status = $3, response_body = $4::jsonb "
        "WHERE operator_id = $1 AND key = $2",
        operator_id,
        key,
        status,
        json.dumps(body, ensure_ascii=False),
    )


async def release(pool: asyncpg.Pool, operator_id: int, key: str) -> None:
    await pool.execute(
        "DELETE FROM api_idempotency_keys WHERE operator_id = $1 AND key = $2 "
        "AND response_status IS NULL",
        operator_id,
        key,
    )


async def purge(pool: asyncpg.Pool, older_than_s: float = KEEP_S) -> int:
    """Forget the keys older than that (their requests are long answered); how many."""
    done = await pool.execute(
        "DELETE FROM api_idempotency_keys WHERE created_at < now() - make_interval(secs => $1)",
        older_than_s,
    )
    return int(done.split()[-1])
