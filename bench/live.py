"""Benchmark: live segments over a large shop, in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rulecast_bench_segment \\
        .venv/bin/python bench/live.py

Uses the shop that bench/segment.py loaded (run it first, e.g. with
--customers 1000000) and its latest run. Times, as medians over repeats:
counting a segment's members through its ``Q`` queryset and through the
exported SQL, and refreshing one customer's features and memberships after a
new order (what the live-membership task does). The baseline of the count is
the stored membership table (what a campaign reads). Then an orders CSV of
``--changed`` customers (one new order each) goes through the CSV import, and the
refresh tasks it queues are run and timed (the import itself is not timed).
Prints: live: count X ms (SQL Y ms, stored Z ms), refresh R ms, import refresh S s
(C changed of N customers)
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from _setup import setup_django


def median_ms(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--changed", type=int, default=10_000,
                        help="customers a CSV import gives a new order")
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from crm.models import Customer, Order
    from segmentation.membership import refresh_customers
    from segmentation.models import CustomerFeatures, SegmentationRun
    from segmentation.querying import rule_sql, rule_to_q
    from segmentation.rules import Rule

    run = SegmentationRun.objects.filter(status="succeeded").order_by("-pk").first()
    if run is None:
        raise SystemExit("no succeeded run: run bench/segment.py first")
    if not run.is_published:
        from segmentation.services import publish_run

        run = publish_run(run=run)
    segment = run.segments.order_by("-size").first()
    rule = Rule.from_dict(segment.rule)
    q = rule_to_q(rule)
    where, params = rule_sql(rule)
    table = connection.ops.quote_name(CustomerFeatures._meta.db_table)

    def count_sql() -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)
            return cursor.fetchone()[0]

    assert CustomerFeatures.objects.filter(q).count() == count_sql()
    count_q = median_ms(lambda: CustomerFeatures.objects.filter(q).count(), args.repeats)
    count_raw = median_ms(count_sql, args.repeats)
    count_stored = median_ms(segment.members().count, args.repeats)

    customer_ids = list(Customer.objects.order_by("?").values_list("pk", flat=True)[:args.repeats])
    now = timezone.now()

    remaining = iter(customer_ids)

    def refresh_one() -> None:
        customer_id = next(remaining)
        Order.objects.bulk_create([Order(customer_id=customer_id, amount=Decimal("500"),
                                         placed_at=now - timedelta(hours=1))])
        refresh_customers(customer_ids=[customer_id], now=now)

    refresh = median_ms(refresh_one, args.repeats)
    import_refresh = time_import_refresh(args.changed, now)
    customers = Customer.objects.count()
    print(f"live: count {count_q:.0f} ms (SQL {count_raw:.0f} ms, stored {count_stored:.0f} ms), "
          f"refresh {refresh:.0f} ms, import refresh {import_refresh:.1f} s "
          f"({args.changed} changed of {customers} customers)")


def time_import_refresh(changed: int, now) -> float:
    """Import one new order for each of ``changed`` customers; time the refreshes it queues."""
    from unittest import mock

    from crm.importing import import_csv
    from crm.models import Customer
    from segmentation import tasks

    ids = list(Customer.objects.order_by("?").values_list("pk", "email")[:changed])
    lines = ["order_id,customer_email,placed_at,amount,currency,status"]
    stamp = (now - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    lines += [f"LIVE-{now.timestamp():.0f}-{pk},{email},{stamp},640.00,CNY,completed"
              for pk, email in ids]
    queued: list[list[int]] = []
    # The import queues segmentation.refresh_customers tasks: collect them, then run
    # them here as a worker would, one after the other.
    with mock.patch.object(tasks.refresh_customers, "delay",
                           side_effect=lambda chunk: queued.append(list(chunk))):
        report = import_csv(source=io.BytesIO("\n".join(lines).encode()), kind="orders")
    if report.errors:
        raise SystemExit(f"import errors: {report.errors[:3]}")
    if sum(len(chunk) for chunk in queued) < len(ids):
        raise SystemExit(f"the import queued {sum(map(len, queued))} of {len(ids)} customers")
    started = time.perf_counter()
    for chunk in queued:
        tasks.refresh_customers(chunk)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
