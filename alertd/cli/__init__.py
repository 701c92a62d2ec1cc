"""The ``alertd`` command line. Importing it is cheap: each command's module (and what it needs:
numpy, shapely, aiohttp, the benchmarks, the demo) is imported only when that command runs."""

from alertd.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
