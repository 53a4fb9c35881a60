"""Shared bench plumbing: Django on PostgreSQL, peak-RSS sampling."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    """Configure Django for a benchmark; PostgreSQL is required."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rulecast.settings")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. "
                 "postgres://postgres@127.0.0.1:5432/rulecast_bench")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


class PeakRSS:
    """Sample this process's resident memory in a thread; ``peak_mb`` after stop()."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0
        self.stage_peaks: dict[str, int] = {}
        self._stage: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self._process.memory_info().rss
            self.peak = max(self.peak, rss)
            if self._stage is not None:
                self.stage_peaks[self._stage] = max(self.stage_peaks.get(self._stage, 0), rss)
            time.sleep(self._interval)

    def stage(self, name: str) -> None:
        """From now on, also count the peak under ``name`` (see ``stage_peaks_mb``)."""
        rss = self._process.memory_info().rss
        if self._stage is not None:
            self.stage_peaks[self._stage] = max(self.stage_peaks.get(self._stage, 0), rss)
        self._stage = name
        self.stage_peaks[name] = max(self.stage_peaks.get(name, 0), rss)

    @property
    def stage_peaks_mb(self) -> dict[str, float]:
        return {name: peak / 2**20 for name, peak in self.stage_peaks.items()}

    def __enter__(self) -> PeakRSS:
        self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20
