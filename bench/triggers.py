"""Benchmark: customers entering a segment with an on-entry campaign, to the last email.

    createdb -h 127.0.0.1 -U postgres rulecast_bench_triggers
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rulecast_bench_triggers \\
        .venv/bin/python bench/triggers.py --customers 1000000 --entries 10000

A shop of ``--customers`` customers with one order each (COPY) and their
features; a live hand-written segment "two orders or more" (empty); a triggered
campaign on it (no delay), turned on; two ``celery worker`` processes (Redis,
4 threads each) sending to an aiosmtpd sink in its own process that counts
every recipient. Then ``--entries`` customers get a second order (COPY, no
signals) and one ``refresh_customers`` call moves them into the segment: it
records the entries and announces them (``membership_changed``); the trigger
task, on a worker, queues their emails. Timed from the refresh's commit until
every delivery of the campaign is ``sent`` (recorded after the sink accepted
it); then the sink says how many messages it took for how many addresses.
The issue's target: 10,000 entries in 1M customers under 60 s, no duplicate.
Prints:

    triggers: N entries, X s to the last email, D duplicates
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(tz=UTC)
REPEAT = {"version": 1, "any": [{"all": [{"feature": "frequency", "op": ">=", "value": 2}]}]}
HTML = ('<html><body><p>Thanks for coming back, {{ name }}! '
        '<a href="https://shop.example.com/club">Join the club</a></p></body></html>')


def run_sink(port: int) -> None:
    """The SMTP sink (``--sink PORT``): on SIGTERM print messages and distinct recipients."""
    from aiosmtpd.controller import Controller

    seen: Counter = Counter()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            seen.update(address.lower() for address in envelope.rcpt_tos)
            return "250 OK"

    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    signal.sigwait(stop)
    controller.stop()
    print(sum(seen.values()), len(seen), flush=True)


def _copy(raw_cursor, table: str, frame: pd.DataFrame, chunk: int = 500_000) -> None:
    columns = ", ".join(frame.columns)
    with raw_cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        for start in range(0, len(frame), chunk):
            buffer = io.StringIO()
            frame.iloc[start:start + chunk].to_csv(buffer, header=False, index=False,
                                                   quoting=csv.QUOTE_NONNUMERIC)
            copy.write(buffer.getvalue())


def orders_for(ids: np.ndarray, days_ago: float) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ids, "placed_at": pd.Timestamp(NOW - timedelta(days=days_ago)),
        "amount": 40.0, "currency": "CNY", "item_count": 1, "category": "", "channel": "web",
        "status": "completed", "attributes": "{}", "created_at": pd.Timestamp(NOW),
    })


def generate(customers: int) -> None:
    """Customers with one order each (COPY), then every customer's features."""
    from django.db import connection

    from segmentation.features.store import refresh_feature_table

    ids = np.arange(1, customers + 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE campaigns_campaign, campaigns_delivery, campaigns_link, "
            "campaigns_trigger, campaigns_triggerentry, campaigns_capslot, "
            "crm_customer, crm_order, crm_event, segmentation_customerfeatures, "
            "segmentation_segmentmembership, segmentation_membershipchange, "
            "segmentation_segment, segmentation_segmentationrun, segmentation_segmentation "
            "RESTART IDENTITY CASCADE"
        )
        signup = pd.Timestamp(NOW - timedelta(days=400))
        _copy(cursor.cursor, "crm_customer", pd.DataFrame({
            "id": ids, "email": [f"c{i}@example.com" for i in ids], "name": "", "gender": "",
            "city": "", "country": "CN", "signed_up_at": signup, "consent_status": "granted",
            "consent_source": "", "attributes": "{}", "created_at": signup,
            "updated_at": signup,
        }))
        _copy(cursor.cursor, "crm_order", orders_for(ids, 60))
        cursor.execute("SELECT setval('crm_customer_id_seq', %s)", [customers])
        cursor.execute("ANALYZE crm_customer; ANALYZE crm_order")
    refresh_feature_table(now=NOW, keep=[], batch_size=100_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink(args.sink)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from send import free_port, start_workers, wait_for_port

    port = free_port()
    os.environ.update({
        "CELERY_BROKER_URL": args.redis, "EMAIL_BACKEND": "django.core.mail.backends.smtp."
        "EmailBackend", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port),
        "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "ERROR",
    })
    from _setup import setup_django

    setup_django()
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port)],
                            stdout=subprocess.PIPE, text=True)
    workers: list[subprocess.Popen] = []
    try:
        assert sink.stdout.readline().strip() == "ready"
        wait_for_port(port)
        generate(args.customers)

        from django.db import connection

        from campaigns.automation.models import Trigger, TriggerEntry
        from campaigns.automation.triggers import activate_trigger
        from campaigns.models import Campaign, Delivery, DeliveryStatus
        from segmentation.membership import refresh_customers
        from segmentation.rules import Rule
        from segmentation.services import save_manual_segment

        segment = save_manual_segment(name="Repeat buyers", rule=Rule.from_dict(REPEAT))
        campaign = Campaign.objects.create(
            name="Thanks for coming back", subject="Welcome back, {{ name }}", html_body=HTML,
            text_body="Thanks for coming back! https://shop.example.com/club",
            from_email="Shop <news@shop.example.com>",
        )
        campaign.segments.set([segment])
        Trigger.objects.create(campaign=campaign, delay_days=0)
        activate_trigger(campaign=campaign)
        workers = start_workers(args.workers, {**os.environ, "PYTHONPATH": str(ROOT)},
                                args.threads)

        step = max(1, args.customers // args.entries)
        entering = np.arange(1, args.customers + 1, step)[:args.entries]
        with connection.cursor() as cursor:
            _copy(cursor.cursor, "crm_order", orders_for(entering, 1))
        refresh_customers(customer_ids=entering.tolist())  # commits; the task is queued
        started = time.perf_counter()
        sent = Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENT)
        made = Delivery.objects.filter(campaign=campaign)
        deadline = time.monotonic() + args.timeout
        queued_after = None
        while sent.count() < len(entering):
            if queued_after is None and made.count() >= len(entering):
                queued_after = time.perf_counter() - started
            if time.monotonic() > deadline:
                sys.exit(f"timed out: {sent.count()} of {len(entering)} sent")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        print(f"(all deliveries queued after {queued_after or elapsed:.1f} s)", file=sys.stderr)
        entries = TriggerEntry.objects.filter(campaign=campaign).count()
        time.sleep(2)  # let a straggling duplicate, if any, reach the sink
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(30)
        sink.send_signal(signal.SIGTERM)
        output = sink.communicate(timeout=30)[0].split()
    messages, addresses = (int(output[0]), int(output[1])) if len(output) == 2 else (0, 0)
    assert entries == len(entering), (entries, len(entering))
    print(f"triggers: {len(entering)} entries, {elapsed:.1f} s to the last email, "
          f"{messages - addresses} duplicates")


if __name__ == "__main__":
    main()
