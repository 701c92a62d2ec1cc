"""The HTTP API (``/v1``): what the CLI does, over HTTP, with tokens, roles and territories.

Health and metrics (``health.py``) are served beside it, or on a listener of their own.

A layer between ``cli`` and ``alerts``: it calls the same domain functions the CLI calls, so one
place decides who may do what, and one conversion (``alertd.jsonable``) shapes the answers.
"""
