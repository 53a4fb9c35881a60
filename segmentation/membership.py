"""Live membership: keep live segments' members equal to what their rules select.

Live segments are those campaigns can target (published runs' and hand-written
ones). When a customer's orders, events or details change, their features are
recomputed and their memberships diffed against the rules; each entry and exit
is recorded as a MembershipChange (automations build on these).
"""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from crm.models import Customer
from crm.sidebyside import SIDE_BY_SIDE_CONNECTIONS, run_side_by_side

from . import pgbinary
from .bulk import copy_columns, insert_frame
from .features.db import among
from .features.store import refresh_features_of
from .models import MembershipChange, Segment, SegmentMembership
from .retention import ensure_members_kept
from .rules import Rule, evaluate_all
from .signals import announce


@transaction.atomic
def refresh_customers(
    *, customer_ids: Iterable[int], now: datetime | None = None
) -> list[MembershipChange]:
    """Recompute these customers' features and update their live memberships."""
    now = now or timezone.now()
    ids = sorted(set(customer_ids))
    frame = refresh_features_of(ids, now=now)
    segments = list(Segment.objects.targetable().only("pk", "rule"))
    current = set(
        SegmentMembership.objects.filter(among("customer_id", ids), segment__in=segments)
        .values_list("segment_id", "customer_id")
    )
    wanted: set[tuple[int, int]] = set()
    if not frame.empty:
        masks = evaluate_all([Rule.from_dict(segment.rule) for segment in segments], frame)
        for segment, mask in zip(segments, masks, strict=True):
            wanted.update((segment.pk, int(customer)) for customer in frame.index[mask])
    return _apply(entered=wanted - current, left=current - wanted, now=now)


@transaction.atomic
def sync_segment(segment: Segment, *, now: datetime | None = None,
                 record: bool = True) -> tuple[int, int]:
    """Bring one segment's stored membership in line with its rule, in the database.

    Set-based (the rule as a ``Q`` over the feature table), so it scales to the
    whole shop. Returns (entered, left).
    """
    from .models import CustomerFeatures
    from .querying import rule_to_q

    now = now or timezone.now()
    wanted = CustomerFeatures.objects.filter(rule_to_q(Rule.from_dict(segment.rule))).values(
        "customer_id"
    )
    stored = SegmentMembership.objects.filter(segment=segment)
    entered = list(wanted.exclude(customer_id__in=stored.values("customer_id"))
                   .values_list("customer_id", flat=True))
    left = list(stored.exclude(customer_id__in=wanted).values_list("customer_id", flat=True))
    changes = _apply(
        entered={(segment.pk, c) for c in entered}, left={(segment.pk, c) for c in left},
        now=now, record=record,
    )
    Segment.objects.filter(pk=segment.pk).update(size=stored.count())
    return (sum(c.direction == "entered" for c in changes) if record else len(entered),
            sum(c.direction == "left" for c in changes) if record else len(left))


def _apply(*, entered: set, left: set, now: datetime,
           record: bool = True) -> list[MembershipChange]:
    leaving: dict[int, list[int]] = defaultdict(list)
    for segment_id, customer_id in left:
        leaving[segment_id].append(customer_id)
    for segment_id, customer_ids in leaving.items():  # one DELETE per segment and chunk
        for start in range(0, len(customer_ids), 5_000):
            SegmentMembership.objects.filter(
                segment_id=segment_id, customer_id__in=customer_ids[start:start + 5_000],
            ).delete()
    SegmentMembership.objects.bulk_create(
        [SegmentMembership(segment_id=s, customer_id=c) for s, c in entered],
        batch_size=5_000, ignore_conflicts=True,
    )
    if not record:
        return []
    changes = [
        MembershipChange(segment_id=s, customer_id=c, direction=direction, at=now)
        for direction, pairs in (("entered", entered), ("left", left))
        for s, c in sorted(pairs)
    ]
    changes = MembershipChange.objects.bulk_create(changes, batch_size=5_000)
    announce(changes)
    return changes


def refresh_all_live_segments(*, now: datetime | None = None) -> dict[int, tuple[int, int]]:
    """Nightly: recompute every customer's features, then re-sync every live segment.

    Time-relative features (recency, tenure) drift daily even without new orders.
    """
    from .conf import segmentation_settings
    from .features.store import refresh_feature_table

    now = now or timezone.now()
    refresh_feature_table(now=now, keep=[], batch_size=segmentation_settings.FEATURE_BATCH_SIZE)
    return {segment.pk: sync_segment(segment, now=now)
            for segment in Segment.objects.targetable()}


def write_members(members: pd.DataFrame) -> int:
    """Store a run's members (``segment_id``, ``customer_id``, ``cluster``) in bulk.

    PostgreSQL: one binary COPY into a temporary table (no index, no WAL), then one
    INSERT ... SELECT joined with the customers, which is the set-based check of
    the foreign keys the table does not declare (a customer deleted since the
    features were computed is left out). Elsewhere: batched inserts. Call it
    inside the run's transaction. Returns the rows stored.
    """
    table = SegmentMembership._meta.db_table
    if connection.vendor != "postgresql":
        return insert_frame(table, members)
    qn = connection.ops.quote_name
    stage = "segmentation_membership_staging"
    # Binary COPY of fixed-width rows built by numpy (no text per row); a missing
    # cluster travels as -1 and becomes NULL again in the INSERT.
    cluster = members["cluster"] if "cluster" in members else pd.Series(pd.NA, index=members.index)
    data = pgbinary.pack(
        [members["segment_id"].to_numpy(np.int64), members["customer_id"].to_numpy(np.int64),
         pd.Series(cluster, dtype="Int16").fillna(-1).to_numpy(np.int16)],
        [np.dtype(np.int64), np.dtype(np.int64), np.dtype(np.int16)])
    customers = qn(Customer._meta.db_table)
    with connection.cursor() as cursor:
        # Costly enough for PostgreSQL to JIT-compile; the compilation costs more than it saves.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} (segment_id bigint, customer_id bigint, "
                       f"cluster smallint) ON COMMIT DROP")
        with cursor.cursor.copy(f"COPY {stage} FROM STDIN WITH (FORMAT binary)") as copy:
            copy.write(data)
        del data
        cursor.execute(
            f"INSERT INTO {qn(table)} (segment_id, customer_id, cluster) "
            f"SELECT s.segment_id, s.customer_id, NULLIF(s.cluster, -1) FROM {stage} s "
            # In the frame's customer order: each index grows at a few places, no sort.
            f"JOIN {customers} c ON c.{qn('id')} = s.customer_id")
        written = cursor.rowcount
        cursor.execute(f"DROP TABLE {stage}")
    return written


#: Fewest members worth splitting over several connections (below, one is as fast).
SIDE_BY_SIDE_MEMBERS = 50_000


def write_members_side_by_side(members: pd.DataFrame,
                               workers: int = SIDE_BY_SIDE_CONNECTIONS) -> int:
    """:func:`write_members` in parts by customer id, each on its own connection and
    committed on its own (PostgreSQL, outside a transaction: see
    :func:`crm.sidebyside.can_run_side_by_side`).

    Keeping the indexes up to date is most of the write and one INSERT uses one core.
    The parts are not one transaction: a caller that fails after a part committed
    deletes the run's segments, whose members go with them.
    """
    members = members.sort_values("customer_id", kind="stable")
    bounds = np.linspace(0, len(members), workers + 1).round().astype(int)

    def part(start: int, stop: int) -> int:
        with transaction.atomic():
            return write_members(members.iloc[start:stop])

    return sum(run_side_by_side([functools.partial(part, start, stop)
                                 for start, stop in itertools.pairwise(bounds)], workers))


def read_members(segment_ids: Iterable[int]) -> pd.DataFrame:
    """The members of these segments: ``customer_id`` and ``segment_id`` columns.

    PostgreSQL: one binary COPY into numpy. A published run's million members took 2.4 s
    through the ORM at the end of every run that compares itself with it.
    """
    query = (SegmentMembership.objects.filter(segment_id__in=list(segment_ids))
             .values_list("customer_id", "segment_id"))
    columns = ["customer_id", "segment_id"]
    if connection.vendor != "postgresql":
        return pd.DataFrame.from_records(list(query), columns=columns)
    sql, params = query.query.sql_with_params()
    values = copy_columns(f"SELECT m.customer_id::bigint, m.segment_id::bigint FROM ({sql}) m",
                          [np.dtype(np.int64)] * 2, params)
    return pd.DataFrame(dict(zip(columns, values, strict=True)))


def run_labels(run) -> list[tuple[int, int, str, int | None]]:
    """Each member of a run: customer id, segment index, segment name, k-means cluster.

    The cluster is the run's clustering label (numbered like its segments); it is
    empty for customers who never ordered (not clustered) and for customers who
    moved into a live segment after the run. Export it beside the rule's segment to
    check the run's confusion table.
    """
    return list(
        SegmentMembership.objects.filter(segment__run=run)
        .order_by("customer_id")
        .values_list("customer_id", "segment__index", "segment__name", "cluster")
    )


def write_run_labels(run, stream) -> int:
    """Write :func:`run_labels` as CSV to a text ``stream``; return the rows written.

    Raises :class:`~segmentation.retention.MembersDropped` for a run whose members
    retention dropped.
    """
    import csv

    ensure_members_kept(run)  # an empty file would say the run had no members
    writer = csv.writer(stream)
    writer.writerow(["customer_id", "segment", "segment_name", "cluster"])
    rows = run_labels(run)
    writer.writerows((c, s, name, "" if k is None else k) for c, s, name, k in rows)
    return len(rows)
