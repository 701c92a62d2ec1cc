"""``alertd serve``: the daemon."""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator, Sequence

import asyncpg

from alertd.api import health, server
from alertd.api.app import context
from alertd.config import Config
from alertd.delivery import daemon
from alertd.schedule import scheduler
from alertd.subscribers.sms_keywords import ReplyLimits, SmsKeywords
from alertd.web import server as signup
from alertd.web import workers
from gateways.base import Gateway


async def run_serve(args: argparse.Namespace, config: Config) -> int:
    fakes = [g.name for g in config.gateways if g.kind == "fake"]
    if fakes and args.allow_fake_gateway:
        # Loud, on the terminal and not only in the log: a test bench must never pass for a
        # deployment. (Refused without the flag: see daemon.serve.)
        for name in fakes:
            print(
                f"alertd serve: WARNING: gateway {name} is FAKE: nothing sent through it "
                "leaves this machine; every alert's status says so",
                file=sys.stderr,
            )
    died = await daemon.serve(
        config,
        allow_fake=args.allow_fake_gateway,
        listeners=listeners(config),
        keywords=keywords(config),
    )
    if died is None:
        return 0
    print(f"alertd serve: stopped because {died}; see the log (serve.task_died)", file=sys.stderr)
    return daemon.EXIT_TASK_DIED


def keywords(config: Config) -> SmsKeywords:
    """The residents' SMS keywords every gateway's inbound answers, with the configured limits."""
    sub = config.subscribers
    return SmsKeywords(ReplyLimits(sub.keyword_replies_per_number, sub.keyword_replies_per_tenant))


def listeners(config: Config) -> list[daemon.Listener]:
    """What serve also serves: the training gateway and the HTTP API on ``[serve] api_listen``
    (when set), the residents' sign-up pages on ``[serve] signup_listen`` (when set), health and
    metrics on ``[serve] metrics_listen`` (when set: a private address, apart from the API)."""
    served: list[daemon.Listener] = [
        lambda pool, gateways, index: server.serving(config, pool, index=index),
        # Scheduled notices (issue 17): one daemon at a time fires them (an advisory lock).
        lambda pool, gateways, index: scheduler.running(
            context(config, pool, index), worker=f"{socket.gethostname()}:{os.getpid()}"
        ),
    ]
    if config.serve.signup_listen:
        served.append(lambda pool, gateways, index: _signup(config, pool, gateways))
    listen = config.serve.metrics_listen
    if listen:
        served.append(
            lambda pool, gateways, index: health.listening(
                listen, pool=pool, gateways=gateways, index=index
            )
        )
    return served


@contextlib.asynccontextmanager
async def _signup(
    config: Config, pool: asyncpg.Pool, gateways: Sequence[Gateway]
) -> AsyncIterator[daemon.Watched]:
    """The pages in ``[serve] signup_workers`` processes of their own (their supervision is the
    task the daemon watches); in the daemon's loop with 0, or on the embedded server (whose
    address only the daemon knows: a demo's or a laptop's)."""
    count = config.serve.signup_workers
    if count and config.database.url:
        async with workers.running(config, pool, count) as pages:
            yield [pages.watch] if pages.watch else None
        return
    # With a URL, the pages get a pool of their own (no reset on release); on the embedded
    # server they share the daemon's.
    async with signup.serving(config, pool, gateways, dsn=config.database.url):
        yield None


def register(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=run_serve)
    parser.add_argument(
        "--allow-fake-gateway",
        action="store_true",
        help='run gateways of kind = "fake" (they send nothing: test benches only); without '
        "this flag serve refuses them",
    )
