"""Benchmark: a campaign sent by Celery worker processes, against plain smtplib loops.

    createdb -h 127.0.0.1 -U postgres rulecast_bench_send
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/rulecast_bench_send \\
        .venv/bin/python bench/send.py --recipients 20000 [--workers 2 --threads 4] [--batch-size N]

Product: ``launch_campaign`` (recipients frozen by INSERT ... SELECT) and
``--workers`` ``celery worker`` processes (Redis broker; each a pool of
``--threads`` threads, as suits I/O-bound sending; the campaign keeps workers x
threads batches in flight) claiming and sending batches over one SMTP connection
per batch, until the campaign is sent; timed from launch to "sent".

Baseline, in the same run, to the same aiosmtpd sink (its own process): the same
number of SMTP connections, in parallel -- ``--workers`` processes of
``--threads`` threads, each thread one ``smtplib`` connection sending its share
of the recipients. Each message is rendered and built inside the timing, as a
plain loop would: the same compiled templates, signed tracking URLs and headers
(Message-ID, List-Unsubscribe), built as a Django ``EmailMultiAlternatives``
and serialised by the standard library. Only reading the recipient list and
compiling the templates come first. The median of three runs (the machine may be
shared). Prints:

    send: N messages, X msg/s (baseline Y msg/s, ratio R)
"""

from __future__ import annotations

import argparse
import os
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = (
    "<html><body><h1>Hello {{ name }}</h1><p>As one of our {{ segment.name }} customers you get "
    'early access to the <a href="https://shop.example.com/sale">spring sale</a> and '
    '<a href="https://shop.example.com/new">new arrivals</a>.</p></body></html>'
)
BASELINE_RUNS = 3
TEXT = "Hello {{ name }}, as one of our {{ segment.name }} customers: https://shop.example.com/sale"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_sink(port: int) -> None:
    """The SMTP sink (``--sink PORT``): accept everything, print the count on SIGTERM."""
    from aiosmtpd.controller import Controller

    class Counter:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Counter.count += 1
            return "250 OK"

    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # for sigwait, in every thread
    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    signal.sigwait(stop)
    controller.stop()
    print(Counter.count, flush=True)


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"nothing listening on port {port}")


def generate(recipients: int):
    """Customers in two overlapping published segments (COPY-free: bulk_create)."""
    from django.db import connection

    from crm.models import ConsentStatus, Customer
    from segmentation.models import (
        RunStatus,
        Segment,
        Segmentation,
        SegmentationRun,
        SegmentMembership,
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE campaigns_campaign, campaigns_delivery, campaigns_link, "
            "campaigns_trackingevent, campaigns_suppression, campaigns_providerevent, "
            "crm_customer, segmentation_segmentmembership, segmentation_segment, "
            "segmentation_segmentationrun, segmentation_segmentation RESTART IDENTITY CASCADE"
        )
    Customer.objects.bulk_create(
        [Customer(email=f"c{n}@example.com", name=f"Customer {n}",
                  consent_status=ConsentStatus.GRANTED) for n in range(recipients)],
        batch_size=5000,
    )
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="bench"), status=RunStatus.SUCCEEDED,
        is_published=True,
    )
    half = len(ids) // 2
    segments = []
    for index, members in enumerate((ids[: half + half // 5], ids[half - half // 5:])):
        segment = Segment.objects.create(run=run, index=index, name=f"Segment {index}",
                                         rule={}, size=len(members))
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment=segment, customer_id=pk) for pk in members],
            batch_size=5000,
        )
        segments.append(segment)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return segments


def bench_env() -> dict:
    """The environment of the processes the bench starts: its own, with the project and
    bench/ (for ``_send_settings``) importable."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")])}


def start_workers(count: int, env: dict, threads: int) -> list[subprocess.Popen]:
    workers = []
    for n in range(count):
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "rulecast", "worker", "--loglevel=WARNING",
             "--pool=threads", f"--concurrency={threads}", "-n", f"bench{n}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
    from rulecast.celery import app

    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=1.0) or []) < count:
        if time.monotonic() > deadline:
            sys.exit("the workers did not start")
    return workers


def run_baseline_part(campaign_id: int, part: int, parts: int, port: int, threads: int) -> None:
    """One baseline process (``--baseline-part``): ``threads`` smtplib connections, each
    rendering, building and sending its share of recipients when "go" arrives on stdin."""
    import threading

    from campaigns import rendering, tokens
    from campaigns.models import Campaign, Delivery, Link

    campaign = Campaign.objects.get(pk=campaign_id)
    links = dict(Link.objects.filter(campaign=campaign).values_list("url", "pk"))
    segments = {segment.pk: segment for segment in campaign.segments.all()}
    compiled = rendering.compile_campaign(campaign, links=links, segments=segments)
    rows = list(Delivery.objects.filter(campaign=campaign).select_related("customer")
                .order_by("pk"))[part::parts]
    maker = tokens.UrlMaker()

    def send(share: list) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for delivery in share:
                urls = maker.for_delivery(delivery.pk, campaign_id=delivery.campaign_id,
                                          customer_id=delivery.customer_id)
                rendered = rendering.render(
                    compiled, customer=delivery.customer, address=delivery.address,
                    segment=segments.get(delivery.segment_id), urls=urls,
                )
                message = rendering.build_message(
                    compiled, rendered, address=delivery.address,
                    message_id=rendering.new_message_id(compiled, delivery.pk),
                    unsubscribe_url=urls.unsubscribe,
                )
                smtp.sendmail("news@shop.example.com", [delivery.address],
                              message.message().as_bytes(linesep="\r\n"))

    pool = [threading.Thread(target=send, args=(rows[k::threads],)) for k in range(threads)]
    print(len(rows), flush=True)  # ready
    sys.stdin.readline()  # go
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    print("done", flush=True)


def baseline(campaign, port: int, runs: int, *, processes: int,
             threads: int) -> tuple[int, float]:
    """The same messages over as many connections (``processes`` x ``threads``), each
    rendered and built inside the timing.

    Returns the count sent per run and the median time of ``runs`` runs.
    """
    times = []
    count = 0
    for _ in range(runs):
        children = [
            subprocess.Popen(
                [sys.executable, __file__, "--baseline-part", f"{k}/{processes}",
                 "--campaign", str(campaign.pk), "--port", str(port),
                 "--threads", str(threads)],
                cwd=ROOT, env=bench_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True,
            )
            for k in range(processes)
        ]
        # Started, Django set up, recipients read, templates compiled, threads made.
        count = sum(int(child.stdout.readline()) for child in children)
        started = time.perf_counter()
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            assert child.stdout.readline().strip() == "done"
        times.append(time.perf_counter() - started)
        for child in children:
            child.stdin.close()
            if child.wait(30):
                sys.exit(f"a baseline process failed ({child.returncode})")
    return count, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process")
    parser.add_argument("--batch-size", type=int, help="BATCH_SIZE (default: the project's)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--baseline-part", help=argparse.SUPPRESS)  # K/N
    parser.add_argument("--campaign", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink(args.sink)
        return
    if args.baseline_part:
        import django

        django.setup()  # the parent's environment: its settings, database and sink
        part, parts = (int(n) for n in args.baseline_part.split("/"))
        run_baseline_part(args.campaign, part, parts, args.port, args.threads)
        return

    port = free_port()
    os.environ.update({
        "CELERY_BROKER_URL": args.redis, "EMAIL_BACKEND": "django.core.mail.backends.smtp."
        "EmailBackend", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port),
        "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": "_send_settings",
        "BENCH_SEND_LANES": str(args.workers * args.threads),
        "BENCH_SEND_BATCH": str(args.batch_size or ""),
    })
    sys.path.insert(0, str(Path(__file__).resolve().parent))
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
        segments = generate(args.recipients)
        workers = start_workers(args.workers, bench_env(), args.threads)

        from campaigns import services
        from campaigns.models import Campaign, CampaignStatus, DeliveryStatus

        campaign = Campaign.objects.create(
            name="Bench", subject="Spring sale for {{ name }}", html_body=HTML, text_body=TEXT,
            from_email="Shop <news@shop.example.com>",
        )
        campaign.segments.set(segments)
        started = time.perf_counter()
        count = services.launch_campaign(campaign=campaign)
        while campaign.status != CampaignStatus.SENT:
            time.sleep(0.05)
            campaign.refresh_from_db()
        elapsed = time.perf_counter() - started
        sent = campaign.deliveries.filter(status=DeliveryStatus.SENT).count()
        assert sent == count == args.recipients, (sent, count)

        base_count, base_elapsed = baseline(campaign, port, BASELINE_RUNS,
                                            processes=args.workers, threads=args.threads)
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(30)
        sink.send_signal(signal.SIGTERM)
        received = int(sink.communicate(timeout=30)[0].strip() or 0)
    assert received == count + BASELINE_RUNS * base_count, (received, count, base_count)
    rate, base_rate = count / elapsed, base_count / base_elapsed
    print(f"send: {count} messages, {rate:.0f} msg/s "
          f"(baseline {base_rate:.0f} msg/s, ratio {rate / base_rate:.2f})")


if __name__ == "__main__":
    main()
