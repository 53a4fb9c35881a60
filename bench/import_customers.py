"""Benchmark: import N customers from CSV with ``import_csv`` against pandas + COPY.

Generates a CSV of ``--rows`` customers, empties the crm tables, imports the file
with the service (wall time and peak RSS, sampled in a thread), then loads the same
file with ``pandas.read_csv`` and PostgreSQL ``COPY`` into a plain unlogged table with
the same columns, and prints one line:

    import: N rows, X s (baseline Y s, ratio R), peak RSS M MB

Needs PostgreSQL: ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/rulecast_bench``
(create and migrate that database first).

The import ends by sending ``customers_changed``, whose receiver queues the refresh of
the customers' features and live segments as Celery tasks, which workers run. Without
``CELERY_BROKER_URL`` the project runs tasks eagerly, inside the import (at 100,000
rows that more than doubled its time); so the bench queues them on Celery's in-memory
transport instead, as a broker would: the line measures the import, signal included,
not the segmentation work it hands over.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import random
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from _setup import PeakRSS  # noqa: E402  (bench/ is on sys.path when run as a script)

sys.path.insert(0, str(ROOT))

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "杰", "娟"]
FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jack"]
LAST = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas"]
CITIES = [("上海", "CN"), ("北京", "CN"), ("深圳", "CN"), ("杭州", "CN"), ("成都", "CN"),
          ("London", "GB"), ("Berlin", "DE"), ("Singapore", "SG"), ("New York", "US")]
HEADER = ["external_id", "email", "name", "gender", "birth_date", "city", "country",
          "signed_up_at", "consent_status", "consent_source", "consent_at", "unsubscribed_at",
          "vip_level", "source"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write a realistic customers CSV (a fifth of the names Chinese)."""
    rng = random.Random(seed)
    start = datetime(2019, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            chinese = rng.random() < 0.2
            name = (rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN])
                    if chinese else f"{rng.choice(FIRST)} {rng.choice(LAST)}")
            city, country = rng.choice(CITIES)
            signed = start + timedelta(seconds=rng.randrange(5 * 365 * 86400))
            consent = rng.choice(["granted", "granted", "withdrawn", "unknown"])
            writer.writerow([
                f"C{i:08d}",
                f"user{i}@example{'.cn' if chinese else '.com'}" if rng.random() < 0.9 else "",
                name,
                rng.choice(["female", "male", "F", "M", "女", "男", ""]),
                (date(1950, 1, 1) + timedelta(days=rng.randrange(20000))).isoformat(),
                city, country,
                signed.strftime("%Y-%m-%d %H:%M:%S"),
                consent,
                "signup form" if consent == "granted" else "",
                signed.strftime("%Y-%m-%d %H:%M:%S") if consent == "granted" else "",
                (signed + timedelta(days=30)).strftime("%Y-%m-%d") if rng.random() < 0.05 else "",
                rng.choice(["", "silver", "gold"]),
                rng.choice(["web", "store", "wechat"]),
            ])


class CpuMeter:
    """CPU seconds used by this process and by PostgreSQL's backends on one database.

    Backends come and go (the import's writer thread has its own connection), so they
    are sampled in a thread while measuring.
    """

    def __init__(self, database: str, interval: float = 0.1) -> None:
        import psutil

        self.psutil = psutil
        self.database = database
        self.interval = interval
        self.seen: dict[int, tuple[float, float]] = {}  # pid -> (first, last) cpu

    def _sample(self) -> None:
        for process in self.psutil.process_iter(["cmdline"]):
            title = " ".join(process.info["cmdline"] or [])
            if title.startswith("postgres:") and f" {self.database} " in title:
                with contextlib.suppress(self.psutil.Error):
                    times = process.cpu_times()
                    used = times.user + times.system
                    first = self.seen.get(process.pid, (used, used))[0]
                    self.seen[process.pid] = (first, used)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self.seen.clear()
        self._sample()
        times = self.psutil.Process().cpu_times()
        self._own = times.user + times.system
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._sample()
        self._stop.set()
        self._thread.join()
        times = self.psutil.Process().cpu_times()
        self.python = times.user + times.system - self._own
        self.server = sum(last - first for first, last in self.seen.values())


BASELINE_DDL = """
CREATE UNLOGGED TABLE bench_customer_baseline (
    external_id varchar(128), email varchar(254), name varchar(200), gender varchar(16),
    birth_date date, city varchar(100), country varchar(64), signed_up_at timestamptz,
    consent_status varchar(16), consent_source varchar(100), consent_at timestamptz,
    unsubscribed_at timestamptz, vip_level text, source text
)"""


def checkpoint() -> None:
    """Start from a clean state: the generated file and what earlier loads left in the
    server's buffers and WAL written out (a million-row import leaves hundreds of MB,
    whose checkpoint otherwise lands in the next measurement: seen moving it by 4 s)."""
    from django.db import DatabaseError, connection

    os.sync()
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:  # not a superuser (nor pg_checkpoint): measure as it comes
        pass


def baseline(path: Path) -> float:
    """pandas.read_csv, then COPY into a plain unlogged table; seconds."""
    import pandas as pd
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_customer_baseline")
        cursor.execute(BASELINE_DDL)
    checkpoint()
    began = time.perf_counter()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    with connection.cursor() as cursor, cursor.cursor.copy(
        "COPY bench_customer_baseline FROM STDIN WITH (FORMAT csv)"
    ) as copy:
        for start in range(0, len(frame), 100_000):
            buffer = io.StringIO()
            frame.iloc[start:start + 100_000].to_csv(buffer, index=False, header=False)
            copy.write(buffer.getvalue())
    elapsed = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_customer_baseline")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
    parser.add_argument("--verbose", action="store_true",
                        help="also print CPU seconds (Python, PostgreSQL) to stderr")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rulecast.settings")
    os.environ.setdefault("DEBUG", "1")
    if not os.environ.get("CELERY_BROKER_URL"):  # queue the refresh tasks (see above)
        os.environ["CELERY_BROKER_URL"] = "memory://"
        os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("bench/import_customers.py needs PostgreSQL: set DATABASE_URL=postgres://"
              "postgres@127.0.0.1:5432/rulecast_bench (createdb it and migrate first).",
              file=sys.stderr)
        return 2

    import django

    django.setup()
    from django.db import ProgrammingError, connection

    from crm.importing import import_csv
    from crm.models import Customer, Event, Order

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers.csv"
        generate(path, args.rows)
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table)
                           for m in (Event, Order, Customer))
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        except ProgrammingError as exc:
            print(f"{exc}: run `manage.py migrate` on this database first.", file=sys.stderr)
            return 2
        database = connection.settings_dict["NAME"]
        cpu = CpuMeter(database) if args.verbose else contextlib.nullcontext()
        checkpoint()
        with PeakRSS(interval=0.02) as rss, cpu:
            began = time.perf_counter()
            report = import_csv(source=path, kind="customers", batch_size=args.batch_size)
            elapsed = time.perf_counter() - began
        if report.error_count or report.customers.created != args.rows:
            print(report.summary(), file=sys.stderr)
            return 1
        base_cpu = CpuMeter(database) if args.verbose else contextlib.nullcontext()
        with base_cpu:
            base = baseline(path)
        if args.verbose:
            print(f"cpu: import {cpu.python:.1f} s Python + {cpu.server:.1f} s PostgreSQL; "
                  f"baseline {base_cpu.python:.1f} s + {base_cpu.server:.1f} s",
                  file=sys.stderr, flush=True)
        if args.keep:
            kept = ROOT / "bench" / "customers.csv"
            path.replace(kept)
            print(f"kept {kept}", file=sys.stderr)
    print(f"import: {args.rows} rows, {elapsed:.1f} s (baseline {base:.1f} s, "
          f"ratio {elapsed / base:.2f}), peak RSS {rss.peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
