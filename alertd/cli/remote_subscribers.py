"""``alertd subscribers register`` through the API (ALERTD_URL): the desk at a town hall that
holds no database access. The other ``subscribers`` commands run on the server."""

from __future__ import annotations

import argparse

from alertd.cli.remote import Remote
from alertd.cli.revive import revive
from alertd.cli.subscribers import desk_request, print_registered
from alertd.config import Config
from alertd.jsonable import jsonable_object
from alertd.subscribers.desk import Registered


async def subscribers_register(args: argparse.Namespace, config: Config) -> int:
    body = {k: v for k, v in jsonable_object(desk_request(args)).items() if v}
    async with Remote(config.operator.url, config.operator.token) as api:
        answer = await api.post("/subscribers", body, sends=True)
    print_registered(revive(Registered, answer), int(answer.get("daemons", 0)), args.json)
    return 0
