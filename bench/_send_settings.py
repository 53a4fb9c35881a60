"""bench/send.py's settings: the project's, with as many send lanes as SMTP connections.

A campaign keeps PARALLEL_BATCHES send tasks in flight; the bench sets it to
workers x threads (``BENCH_SEND_LANES``) so every worker thread has a batch to send
and the baseline can use exactly as many connections. ``--batch-size`` sets BATCH_SIZE
(``BENCH_SEND_BATCH``) to see what a batch's fixed cost weighs.
"""

import os

from rulecast.settings import *  # noqa: F403
from rulecast.settings import RULECAST_CAMPAIGNS

RULECAST_CAMPAIGNS = {**RULECAST_CAMPAIGNS,
                      "PARALLEL_BATCHES": int(os.environ.get("BENCH_SEND_LANES", "8"))}
if os.environ.get("BENCH_SEND_BATCH"):  # --batch-size: the project's default otherwise
    RULECAST_CAMPAIGNS["BATCH_SIZE"] = int(os.environ["BENCH_SEND_BATCH"])
