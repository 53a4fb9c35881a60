"""Settings of the Celery worker the campaigns tests start (tests.settings, plus these).

Tasks the worker queues go through Redis (not eager), retries are fast, and the
batches are as large as a few hundred recipients allow to run in parallel.
"""

from tests.settings import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
RULECAST_CAMPAIGNS = {
    **RULECAST_CAMPAIGNS,  # noqa: F405
    "BATCH_SIZE": 100,  # three or four lanes for the few hundred recipients here
    "PARALLEL_BATCHES": 4,
    "RETRY_BACKOFF": 0.5,
    "RETRY_BACKOFF_MAX": 2,
}
