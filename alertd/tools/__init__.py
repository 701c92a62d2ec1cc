"""Shipped with alertd, imported only by the CLI: the demo and its synthetic world, the benchmarks,
the SMSC simulator. Nothing in the application depends on them."""
