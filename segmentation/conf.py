"""The segmentation app's settings: override any key in ``settings.RULECAST_SEGMENTATION``."""

from crm.appsettings import AppSettings

DEFAULTS = {
    # Features a new segmentation uses when it names none: behaviour, not demographics.
    "DEFAULT_FEATURES": [
        "recency_days", "frequency", "orders_90d", "total_spend", "avg_order_value",
        "tenure_days", "sessions_30d",
    ],
    # Customers per feature query and per membership write.
    "FEATURE_BATCH_SIZE": 100_000,
    # Above this many customers, k-means seeds its ten restarts on a sample of this many,
    # then runs Lloyd on everyone from the best one (cost within 0.5% of ten full restarts).
    "LARGE_TABLE_ROWS": 20_000,
    # Refresh a customer's features and live memberships when their data changes.
    "LIVE_MEMBERSHIP": True,
    # When one transaction (an import) changed at least this share of the customers,
    # refresh everyone at once, as the nightly job does (None: customer by customer).
    # At a million customers refreshing everyone cost as much as refreshing 6.5% of them
    # one by one.
    "LIVE_REFRESH_ALL_SHARE": 0.1,
    # Every run stores one membership row per customer. Only the newest this many runs of a
    # segmentation keep theirs, besides the published run and runs whose segments a campaign
    # relies on; older runs keep their segments, rules and metrics (None: keep every run's).
    "KEEP_MEMBERS_OF_RUNS": 3,
    # Entries into and exits from live segments older than this many days are deleted
    # nightly (None: kept for ever). Automations read only recent ones.
    "KEEP_MEMBERSHIP_CHANGES_DAYS": 365,
    # Below this many customers with orders, clustering is not trusted: RFM groups instead.
    "SMALL_SHOP_BUYERS": 200,
    # No segment smaller than this share of customers.
    "MIN_SEGMENT_SHARE": 0.02,
    # A scheduled run publishes itself when its adjusted Rand index against the published
    # run is at least this, and no matched segment changes more than AUTO_PUBLISH_MAX_CHANGE
    # of its members (1 - Jaccard similarity); otherwise it waits for review.
    "AUTO_PUBLISH_MIN_ARI": 0.8,
    "AUTO_PUBLISH_MAX_CHANGE": 0.2,
    # Complexity budget of found rules: conditions per clause and clauses per segment
    # (None: no limit), and how much of the k-means cost it may cost (None: any).
    "MAX_CONDITIONS_PER_CLAUSE": 3,
    "MAX_CLAUSES_PER_SEGMENT": 2,
    "BUDGET_TOLERANCE": 0.02,
    # A running run writes a heartbeat this often (seconds)...
    "RUN_HEARTBEAT": 15,
    # ...and one silent this long lost its worker (seconds): it is requeued, or failed.
    "RUN_TIMEOUT": 120,
    # Times a run whose worker died is queued again before it is marked failed.
    "RUN_MAX_REQUEUES": 1,
}

segmentation_settings = AppSettings("RULECAST_SEGMENTATION", DEFAULTS)
