"""No stuck work, with real workers that are killed (SIGKILL) and a Redis that restarts.

No celery beat runs here: campaigns go on by their own batches and watchdog tasks, runs
are ended by theirs. Waits poll with generous deadlines; nothing sleeps for a guess.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable

import psutil
import pytest
import redis

from campaigns import services
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from segmentation.models import RunStatus, Segmentation, SegmentationRun
from segmentation.services import start_run
from tests.campaigns.conftest import free_port, make_campaign, make_customers
from tests.campaigns.conftest import make_segment as make_segment  # fixtures
from tests.campaigns.conftest import smtp as smtp
from tests.campaigns.conftest import smtp_server as smtp_server
from tests.conftest import CeleryWorker, _database_url_for_worker
from tests.segmentation.conftest import build_shop
from tests.services import require

pytestmark = [pytest.mark.worker, pytest.mark.redis, pytest.mark.smtp, pytest.mark.slow]

SETTINGS = "tests.integration.hardening_settings"


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.2)


def pool_processes(worker: CeleryWorker) -> list[psutil.Process]:
    return psutil.Process(worker.process.pid).children(recursive=True)


def kill_pool(worker: CeleryWorker) -> int:
    """SIGKILL every pool process (the main process stays and starts new ones)."""
    children = pool_processes(worker)
    for child in children:
        child.kill()
    psutil.wait_procs(children, timeout=10)
    return len(children)


class RedisServer:
    """A redis-server of the test's own on a free port, so restarting it disturbs nobody."""

    def __init__(self, tmp_path) -> None:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server")
        self.binary, self.dir, self.port = binary, tmp_path, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_until(lambda: self._pings(client), timeout=30, what="redis-server to start")

    @staticmethod
    def _pings(client) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


def use_broker(url: str) -> None:
    """Point this process's Celery app (tasks it sends, results it reads) at ``url``."""
    from rulecast.celery import app

    app.conf.broker_url = app.conf.result_backend = url
    app._pool = None
    app.amqp._producer_pool = None
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def own_redis(tmp_path, redis_url):
    server = RedisServer(tmp_path)
    server.start()
    use_broker(server.url)
    yield server
    use_broker(redis_url)
    server.stop()


def start_worker(broker_url: str, smtp=None, **env) -> CeleryWorker:
    from rulecast.celery import app

    extra = {"DJANGO_SETTINGS_MODULE": SETTINGS, **env}
    if smtp is not None:
        extra.update({"TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                      "EMAIL_HOST": smtp.host, "EMAIL_PORT": str(smtp.port)})
    worker = CeleryWorker(broker_url, _database_url_for_worker(), extra_env=extra)
    app.conf.task_always_eager = False
    worker.start()
    return worker


@pytest.fixture
def workers(request, redis_url, settings):
    """Start workers with ``start(...)``; all are stopped at the end."""
    from rulecast.celery import app
    from tests.integration import hardening_settings

    settings.RULECAST_CAMPAIGNS = hardening_settings.RULECAST_CAMPAIGNS
    settings.RULECAST_SEGMENTATION = hardening_settings.RULECAST_SEGMENTATION
    started: list[CeleryWorker] = []

    def start(broker_url: str | None = None, **kwargs) -> CeleryWorker:
        url = broker_url or redis_url
        redis.Redis.from_url(url).flushdb()
        worker = start_worker(url, **kwargs)
        started.append(worker)
        return worker

    yield start
    app.conf.task_always_eager = True
    for worker in started:
        worker.stop()


def finished(campaign: Campaign) -> bool:
    campaign.refresh_from_db()
    return campaign.status == CampaignStatus.SENT


def check_sent_once(campaign: Campaign, smtp, *, unknown_at_most: int) -> None:
    outcome = dict(Delivery.objects.filter(campaign=campaign).values_list("address", "status"))
    received = smtp.recipients()
    assert set(received.values()) == {1}, "an address got two messages"
    assert set(outcome.values()) <= {DeliveryStatus.SENT, DeliveryStatus.UNKNOWN}
    sent = {address for address, status in outcome.items() if status == DeliveryStatus.SENT}
    assert sent <= set(received) <= set(outcome)
    unknown = [address for address, status in outcome.items()
               if status == DeliveryStatus.UNKNOWN]
    assert len(unknown) <= unknown_at_most


def test_a_killed_worker_campaign_finishes_within_a_minute_without_beat(
    transactional_db, workers, smtp, make_segment,
):
    worker = workers(smtp=smtp)
    smtp.delay = 0.02  # slow enough to kill it mid-campaign
    campaign = make_campaign([make_segment(make_customers(300))])
    services.launch_campaign(campaign=campaign)
    wait_until(lambda: smtp.count() >= 40, timeout=90, what="the first messages")

    killed = kill_pool(worker)
    assert killed >= 1 and smtp.count() < 300
    wait_until(lambda: finished(campaign), timeout=60,
               what="the campaign to finish within 60 s of the kill")

    check_sent_once(campaign, smtp, unknown_at_most=killed)


def test_a_redis_restart_mid_send_loses_nothing_and_duplicates_nothing(
    transactional_db, own_redis, workers, smtp, make_segment,
):
    workers(own_redis.url, smtp=smtp)
    smtp.delay = 0.02
    # The rate limit lives in the same Redis: every message asks it for a slot.
    campaign = make_campaign([make_segment(make_customers(300))], rate_limit=3000)
    services.launch_campaign(campaign=campaign)
    wait_until(lambda: smtp.count() >= 40, timeout=90, what="the first messages")

    own_redis.stop()  # it keeps nothing on disk: queued tasks are gone
    in_flight = Delivery.objects.filter(
        campaign=campaign, status__in=[DeliveryStatus.RESERVED, DeliveryStatus.SENDING])
    # Down until the batches that were running have done their share and must queue
    # their successors through the missing Redis.
    wait_until(lambda: not in_flight.exists(), timeout=60, what="the running batches to end")
    assert smtp.count() < 300
    own_redis.start()
    wait_until(lambda: finished(campaign), timeout=120, what="the campaign to finish")

    check_sent_once(campaign, smtp, unknown_at_most=0)


def test_a_run_whose_worker_dies_is_requeued_once_then_failed(transactional_db, workers):
    worker = workers(RULECAST_SLOW_RUNS="1")
    build_shop()
    run = start_run(segmentation=Segmentation.objects.create(name="doomed", n_clusters=3))

    def state() -> tuple[str, int]:
        run.refresh_from_db()
        return run.status, run.requeues

    wait_until(lambda: state() == (RunStatus.RUNNING, 0), timeout=60, what="the run to start")
    kill_pool(worker)
    # Each step waits for a new pool process (Django starts in it) and two watchdog rounds.
    wait_until(lambda: state() == (RunStatus.RUNNING, 1), timeout=180,
               what="the run to be requeued and started again")
    kill_pool(worker)
    wait_until(lambda: state()[0] == RunStatus.FAILED, timeout=180, what="the run to fail")
    assert "stopped" in run.error and run.finished_at is not None
    assert SegmentationRun.objects.get(pk=run.pk).segments.count() == 0
