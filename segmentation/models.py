"""Segmentations (configurations), their runs, the segments they find, and the feature table."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Algorithm(models.TextChoices):
    KMEANS = "kmeans", _("k-means (mini-batch on large tables)")
    MINIBATCH_KMEANS = "minibatch_kmeans", _("Mini-batch k-means")
    AGGLOMERATIVE = "agglomerative", _("Hierarchical (agglomerative, on a sample)")


class Segmentation(models.Model):
    """A named configuration: which features, which algorithm, how many segments."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    features = models.JSONField(
        _("features"), default=list, blank=True,
        help_text=_("Feature names to segment on; empty means the default behavioural set."),
    )
    algorithm = models.CharField(
        _("algorithm"), max_length=32, choices=Algorithm.choices, default=Algorithm.KMEANS
    )
    n_clusters = models.PositiveSmallIntegerField(
        _("number of segments"), null=True, blank=True,
        help_text=_("Leave empty to choose between the minimum and maximum automatically."),
    )
    k_min = models.PositiveSmallIntegerField(_("minimum segments"), default=3)
    k_max = models.PositiveSmallIntegerField(_("maximum segments"), default=8)
    max_leaves = models.PositiveSmallIntegerField(
        _("leaf budget"), null=True, blank=True,
        help_text=_("Most rule branches in all; empty means twice the number of segments."),
    )
    sample_size = models.PositiveIntegerField(_("sample size"), default=10_000)
    random_seed = models.PositiveIntegerField(_("random seed"), default=0)
    # Scheduled re-runs (segmentation.scheduling): celery beat starts one every N days.
    rerun_every_days = models.PositiveSmallIntegerField(
        _("re-run every (days)"), null=True, blank=True,
        help_text=_("e.g. 7 for weekly; empty: runs only when you start one."),
    )
    auto_publish = models.BooleanField(
        _("publish scheduled runs that match"), default=True,
        help_text=_("A scheduled run whose segments closely match the published ones publishes "
                    "itself; any other waits for your review."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segmentation")
        verbose_name_plural = _("segmentations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ReviewState(models.TextChoices):
    NONE = "", _("Started by hand")
    AUTO_PUBLISHED = "auto_published", _("Matched: published itself")
    WAITING = "waiting", _("Scheduled run waiting for review")
    REVIEWED = "reviewed", _("Reviewed")


class SegmentationRun(models.Model):
    """One execution of a segmentation: progress, outcome, metrics, its segments."""

    segmentation = models.ForeignKey(
        Segmentation, on_delete=models.CASCADE, related_name="runs",
        verbose_name=_("segmentation"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    stage = models.CharField(_("stage"), max_length=32, blank=True)
    progress = models.FloatField(_("progress"), default=0.0)
    error = models.TextField(_("error"), blank=True)
    as_of = models.DateTimeField(
        _("features as of"), null=True, blank=True,
        help_text=_("The moment every time feature is measured from. Set it to segment a "
                    "historic file; empty chooses now, or the day after the latest activity "
                    "when the data ends more than 30 days ago."),
    )
    options = models.JSONField(
        _("options for this run"), default=dict, blank=True,
        help_text=_("Settings that override the segmentation's for this run only "
                    "(number of segments, algorithm, seed)."),
    )
    customer_count = models.PositiveIntegerField(_("customers"), default=0)
    feature_names = models.JSONField(_("features"), default=list, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    timings = models.JSONField(_("time per stage (s)"), default=dict, blank=True)
    model = models.BinaryField(
        _("fitted pipeline"), null=True, blank=True, editable=False,
        help_text=_("Pickled pipeline model, to score new customers."),
    )
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    is_scheduled = models.BooleanField(_("scheduled"), default=False, editable=False)
    review_state = models.CharField(
        _("review"), max_length=16, choices=ReviewState.choices, blank=True, default="",
        editable=False,
    )
    review_note = models.TextField(_("why it waits"), blank=True, editable=False)
    # Written every RUN_HEARTBEAT seconds while a worker executes the run (runwatch).
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True,
                                        editable=False)
    requeues = models.PositiveSmallIntegerField(_("requeued after a lost worker"), default=0,
                                                editable=False)
    # Set when member retention (segmentation.retention) dropped the run's members;
    # its segments, rules and metrics stay.
    members_dropped_at = models.DateTimeField(_("members dropped"), null=True, blank=True,
                                              editable=False)

    class Meta:
        verbose_name = _("segmentation run")
        verbose_name_plural = _("segmentation runs")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One published run per segmentation: what campaigns target.
            models.UniqueConstraint(
                fields=["segmentation"], condition=models.Q(is_published=True),
                name="segmentation_one_published_run",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.segmentation} #{self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in {RunStatus.SUCCEEDED, RunStatus.FAILED}


class SegmentKind(models.TextChoices):
    FOUND = "found", _("Found by a run")
    MANUAL = "manual", _("Written by hand")


class SegmentQuerySet(models.QuerySet):
    def targetable(self) -> SegmentQuerySet:
        """Segments campaigns may target: those of published runs, and hand-written ones."""
        return self.filter(models.Q(run__is_published=True) | models.Q(kind=SegmentKind.MANUAL))


class Segment(models.Model):
    """A group of customers defined by a rule; membership is what the rule selects."""

    run = models.ForeignKey(
        SegmentationRun, on_delete=models.CASCADE, related_name="segments",
        verbose_name=_("run"), null=True, blank=True,
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=SegmentKind.choices, default=SegmentKind.FOUND
    )
    index = models.PositiveSmallIntegerField(_("index"), default=0)
    name = models.CharField(_("name"), max_length=120)
    name_zh = models.CharField(_("Chinese name"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("Chinese description"), blank=True)
    rule = models.JSONField(_("rule"), help_text=_("The versioned JSON form of the rule."))
    size = models.PositiveIntegerField(_("size"), default=0)
    share = models.FloatField(_("share"), default=0.0)
    profile = models.JSONField(_("profile"), default=dict, blank=True)
    previous = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("matched segment of the published run"),
        help_text=_("On publishing, this segment takes over that segment's id and name."),
    )
    customers = models.ManyToManyField(
        "crm.Customer", through="SegmentMembership", related_name="segments",
        verbose_name=_("customers"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SegmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["run", "index", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "index"], condition=models.Q(run__isnull=False),
                name="segmentation_segment_run_index",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="manual", run__isnull=True)
                | models.Q(kind="found", run__isnull=False),
                name="segmentation_segment_kind_run",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_targetable(self) -> bool:
        return self.kind == SegmentKind.MANUAL or bool(self.run and self.run.is_published)

    def members(self):
        """The customers in this segment (a queryset; campaigns depend on this only).

        Live segments (published or hand-written) keep their materialised
        membership current as features change; a draft run's membership is as
        of its run.
        """
        from crm.models import Customer

        return Customer.objects.filter(segment_memberships__segment=self)


class SegmentMembership(models.Model):
    """The materialised membership of a segment, written in bulk after a run."""

    # The (segment, customer) pair is the key: one index fewer to keep up than a
    # surrogate id beside a unique pair (a run writes every customer's row).
    pk = models.CompositePrimaryKey("segment", "customer")

    # No foreign-key constraints in the database: PostgreSQL checks one row at a time, and a
    # run writes a million members at once. The write checks them in one join instead
    # (membership.write_members), and deletes cascade in Django as before. No index of their
    # own either: the unique (segment, customer) pair and the customer index serve both.
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships",
                                db_constraint=False, db_index=False)
    customer = models.ForeignKey(
        "crm.Customer", on_delete=models.CASCADE, related_name="segment_memberships",
        db_constraint=False, db_index=False,
    )
    # The run's k-means cluster (numbered like its segments) beside the rule's segment;
    # empty for non-buyers, hand-written segments and customers who moved in live.
    cluster = models.SmallIntegerField(_("cluster"), null=True, blank=True)

    class Meta:
        verbose_name = _("segment membership")
        verbose_name_plural = _("segment memberships")
        indexes = [models.Index(fields=["customer"], name="segmentation_member_cust_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


class MembershipChange(models.Model):
    """A customer entering or leaving a live segment, with when."""

    class Direction(models.TextChoices):
        ENTERED = "entered", _("Entered")
        LEFT = "left", _("Left")

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="changes")
    customer = models.ForeignKey(
        "crm.Customer", on_delete=models.CASCADE, related_name="segment_changes"
    )
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("membership change")
        verbose_name_plural = _("membership changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["segment", "at"], name="segmentation_change_seg_at")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.direction} {self.segment_id}"


class CustomerFeatures(models.Model):
    """The feature table: one row of numbers per customer, refreshed by runs and new orders."""

    # No foreign-key constraint in the database: the rows are written a million at a time
    # from crm_customer itself (features.store), where a per-row check would double the
    # time; deleting a customer still deletes its row (Django cascades).
    customer = models.OneToOneField(
        "crm.Customer", on_delete=models.CASCADE, primary_key=True, related_name="features",
        db_constraint=False,
    )
    computed_at = models.DateTimeField(_("computed"))
    recency_days = models.FloatField(null=True)
    frequency = models.FloatField(null=True)
    orders_90d = models.FloatField(null=True)
    total_spend = models.FloatField(null=True)
    avg_order_value = models.FloatField(null=True)
    tenure_days = models.FloatField(null=True)
    age_years = models.FloatField(null=True)
    mean_days_between_orders = models.FloatField(null=True)
    top_category_share = models.FloatField(null=True)
    sessions_30d = models.FloatField(null=True)
    events_30d = models.FloatField(null=True)
    extra = models.JSONField(
        default=dict, blank=True, help_text=_("Features a host project added.")
    )

    class Meta:
        verbose_name = _("customer features")
        verbose_name_plural = _("customer features")

    def __str__(self) -> str:
        return f"features of {self.customer_id}"
