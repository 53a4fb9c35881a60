"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.services import redis_available, require

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def postgres(db) -> None:
    """Require the test database to be PostgreSQL."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = settings.CELERY_BROKER_URL
    require(redis_available(url), f"Redis at {url}")
    return url


def _database_url_for_worker() -> str:
    """The URL of the test database pytest-django created, for another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        user = db.get("USER") or "postgres"
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"
    raise RuntimeError(f"no worker database URL for {connection.vendor}")


class CeleryWorker:
    """A real `celery worker` process on the test database and broker."""

    def __init__(
        self, broker_url: str, database_url: str, concurrency: int = 2,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.broker_url = broker_url
        self.database_url = database_url
        self.concurrency = concurrency
        self.extra_env = dict(extra_env or {})
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / "test-artifacts" / f"worker-{uuid.uuid4().hex[:8]}.log"

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": self.database_url,
            "TEST_CELERY_BROKER_URL": self.broker_url,
            **self.extra_env,
        }
        self.log_path.parent.mkdir(exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "rulecast", "worker",
                "--loglevel=INFO", f"--concurrency={self.concurrency}", "-n", self.name,
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        from rulecast.celery import ping

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited; see {self.log_path}")
            try:
                if ping.apply_async(expires=5).get(timeout=5) == "pong":
                    return
            except Exception:  # noqa: BLE001 — not up yet
                time.sleep(0.5)
        raise RuntimeError(f"worker not ready after {timeout}s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL, as when a machine dies."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def running_worker(redis_url: str, **worker_options):
    """Yield a started worker on a flushed broker; tasks go to it until it stops."""
    import redis

    from rulecast.celery import app

    redis.Redis.from_url(redis_url).flushdb()
    worker = CeleryWorker(redis_url, _database_url_for_worker(), **worker_options)
    app.conf.task_always_eager = False
    try:
        worker.start()
        yield worker
    finally:
        app.conf.task_always_eager = True
        worker.stop()


@pytest.fixture
def celery_worker(redis_url, django_db_setup, django_db_blocker, transactional_db):
    """Start a real worker; tasks sent in the test go through Redis to it."""
    yield from running_worker(redis_url)
