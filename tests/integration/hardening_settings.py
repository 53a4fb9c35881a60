"""Settings of the workers tests/integration/test_stuck_work.py starts and kills.

The campaigns worker's settings with short leases (so a dead worker's campaign goes on
within seconds, not a minute) and short run heartbeats. ``RULECAST_SLOW_RUNS=1`` makes
every segmentation run wait in its features stage, so a test can kill it mid-run.
"""

import os

from tests.campaigns.worker_settings import *  # noqa: F403

EMAIL_TIMEOUT = 5
RULECAST_CAMPAIGNS = {
    **RULECAST_CAMPAIGNS,  # noqa: F405
    "BATCH_SIZE": 20,  # many batches: a campaign lives on its successors
    "SENDING_TIMEOUT": 12,
    "LEASE_RENEWAL": 2,
}
RULECAST_SEGMENTATION = {"RUN_HEARTBEAT": 1, "RUN_TIMEOUT": 5, "RUN_MAX_REQUEUES": 1}

if os.environ.get("RULECAST_SLOW_RUNS") == "1":
    from celery.signals import worker_process_init

    @worker_process_init.connect(weak=False)
    def slow_runs(**kwargs) -> None:
        """A run's features stage waits (in each pool process): a test kills it there."""
        import time

        from segmentation import services

        def wait(*args, **kwargs):
            time.sleep(600)

        services.compute_feature_table = wait
