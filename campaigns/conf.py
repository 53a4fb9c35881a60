"""The campaigns app's settings: override any key in ``settings.RULECAST_CAMPAIGNS``."""

from crm.appsettings import AppSettings

DEFAULTS = {
    # Absolute URLs in emails (tracking, unsubscribe) start with this; https in production.
    "BASE_URL": "http://127.0.0.1:8000",
    # Messages one send task sends over one SMTP connection. A batch's fixed cost (the
    # task, reserving, the cap, compiling: ~0.2 s) is shared by this many messages; after
    # a database crash (not a worker's death) a running batch's unconfirmed messages are
    # recorded "unknown", up to this many per batch (see services.claims).
    "BATCH_SIZE": 250,
    # Deliveries claimed (marked sending) in one committed step, then sent one by one.
    # A worker killed mid-send leaves at most this many "unknown"; 1 is the most precise,
    # larger saves database round trips.
    "CLAIM_SIZE": 1,
    # Send tasks kept in flight per campaign (at most this many workers share a campaign).
    "PARALLEL_BATCHES": 8,
    # Attempts of one delivery before a transient failure becomes permanent.
    "MAX_ATTEMPTS": 5,
    # Delay before the first retry of a transient failure (seconds); doubles per attempt.
    "RETRY_BACKOFF": 60,
    # Longest retry delay or task countdown (seconds); must stay under the broker's
    # visibility timeout (system check campaigns.E001).
    "RETRY_BACKOFF_MAX": 1800,
    # A batch's lease on the deliveries it reserved and claimed (seconds), renewed every
    # LEASE_RENEWAL seconds while it runs. Once it lapses the batch's worker is taken for
    # dead: reserved deliveries go back to pending, the one `sending` becomes `unknown`,
    # and the campaign goes on. Must exceed CLAIM_SIZE x EMAIL_TIMEOUT + LEASE_RENEWAL.
    "SENDING_TIMEOUT": 45,
    "LEASE_RENEWAL": 5,
    # A sending campaign with nothing claimed for this long gets new send tasks (seconds).
    "STALL_TIMEOUT": 300,
    # Soft bounces (temporary failures reported by the provider) before an address is suppressed.
    "SOFT_BOUNCE_THRESHOLD": 3,
    # Redis for the cross-worker rate limit; None: the Celery broker when it is Redis,
    # else a per-process limiter (the eager demo).
    "RATE_LIMIT_REDIS_URL": None,
    # Domain of Message-IDs; None: the domain of the campaign's From address.
    "MESSAGE_ID_DOMAIN": None,
    # Salt of the signed delivery tokens in tracking and unsubscribe links.
    "TOKEN_SALT": "rulecast.campaigns.delivery",
    # Prefixed to the subject of test sends.
    "TEST_SUBJECT_PREFIX": "[Test] ",
    # Where a click on a link of an erased campaign goes; None: BASE_URL.
    "SHOP_URL": None,
    # The one email provider whose anymail webhook is served (bounces, complaints), by its
    # anymail name ("postmark", "amazon_ses", "mailgun", "sendgrid", "brevo", ...);
    # None: no webhook endpoint at all.
    "WEBHOOK_ESP": None,
    # Automation (campaigns.automation).
    # At most this many messages per customer per calendar day (TIME_ZONE), over every
    # campaign, triggered or one-off; a capped message waits for the next day. None: no cap.
    "FREQUENCY_CAP": 1,
    # Triggers look this far back for segment entries a lost task did not record (days).
    "TRIGGER_LOOKBACK_DAYS": 2,
    # A/B tests: fewest sends per variant before a winner is named, and the significance
    # level of the two-proportion test.
    "AB_MIN_SENDS": 100,
    "AB_ALPHA": 0.05,
    # Days tracking events (opens, clicks, unsubscribes, provider events) and delivery
    # details (address, error) are kept; older ones are removed by the retention task
    # (crm.tasks.apply_retention). None keeps them forever.
    "TRACKING_RETENTION_DAYS": 395,
}

campaigns_settings = AppSettings("RULECAST_CAMPAIGNS", DEFAULTS)
