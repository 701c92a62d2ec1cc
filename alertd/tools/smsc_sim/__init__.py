"""A loopback SMSC for tests and benchmarks, written on the project's own SMPP codec, with the
fault modes real operators' SMSCs show (see `faults.Faults`).

Run as ``python -m alertd.tools.smsc_sim --port 0 [--latency-ms 20] [--stats PATH]``: it prints
``listening PORT`` once bound, accepts every submit_sm by default, and writes its counters to PATH
(JSON: submit_sm, binds_max, outstanding_max_per_bind, …) every 0.5 s and when stopped.
"""

from alertd.tools.smsc_sim.faults import Faults
from alertd.tools.smsc_sim.server import Smsc, Submit, format_id, receipt_body

__all__ = ["Faults", "Smsc", "Submit", "format_id", "receipt_body"]
