"""From recipients to SMS and back: the outbox, its enqueueing, the dispatch loop, the daemon
(``alertd serve``), receipts and inbound messages, progress, and the gateways built from the
configuration."""
