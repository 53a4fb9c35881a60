"""bench/send.py's settings: the project's, with as many send lanes as SMTP connections.

A campaign keeps PARALLEL_BATCHES send tasks in flight; the bench sets it to
workers x threads (``BENCH_SEND_LANES``) so every worker thread has a batch to send
and the baseline can use exactly as many connections.
"""

import os

from rulecast.settings import *  # noqa: F403
from rulecast.settings import RULECAST_CAMPAIGNS

RULECAST_CAMPAIGNS = {**RULECAST_CAMPAIGNS,
                      "PARALLEL_BATCHES": int(os.environ.get("BENCH_SEND_LANES", "8"))}
