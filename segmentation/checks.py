"""System checks for the segmentation app's settings."""

from django.core.checks import Error, register

from .conf import segmentation_settings


@register()
def check_segmentation_settings(app_configs, **kwargs) -> list[Error]:
    from .features import registry

    errors = []
    unknown = [n for n in segmentation_settings.DEFAULT_FEATURES if n not in registry]
    if unknown:
        errors.append(Error(
            f"RULECAST_SEGMENTATION['DEFAULT_FEATURES'] names unknown features: {unknown}.",
            id="segmentation.E001",
        ))
    share = segmentation_settings.MIN_SEGMENT_SHARE
    if not (isinstance(share, int | float) and 0 <= share < 0.5):
        errors.append(Error(
            "RULECAST_SEGMENTATION['MIN_SEGMENT_SHARE'] must be a number in [0, 0.5).",
            id="segmentation.E002",
        ))
    for key in ("FEATURE_BATCH_SIZE", "LARGE_TABLE_ROWS"):
        value = getattr(segmentation_settings, key)
        if not isinstance(value, int) or value < 1:
            errors.append(Error(
                f"RULECAST_SEGMENTATION['{key}'] must be a positive integer.",
                id="segmentation.E003",
            ))
    for key in ("AUTO_PUBLISH_MIN_ARI", "AUTO_PUBLISH_MAX_CHANGE"):
        value = getattr(segmentation_settings, key)
        if not (isinstance(value, int | float) and 0 <= value <= 1):
            errors.append(Error(
                f"RULECAST_SEGMENTATION['{key}'] must be a number in [0, 1].",
                id="segmentation.E004",
            ))
    for key, check_id in (("MAX_CONDITIONS_PER_CLAUSE", "segmentation.E005"),
                          ("MAX_CLAUSES_PER_SEGMENT", "segmentation.E005"),
                          ("KEEP_MEMBERS_OF_RUNS", "segmentation.E010"),
                          ("KEEP_MEMBERSHIP_CHANGES_DAYS", "segmentation.E010")):
        value = getattr(segmentation_settings, key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            errors.append(Error(
                f"RULECAST_SEGMENTATION['{key}'] must be a positive integer or None.",
                id=check_id,
            ))
    tolerance = segmentation_settings.BUDGET_TOLERANCE
    if tolerance is not None and not (isinstance(tolerance, int | float) and tolerance >= 0):
        errors.append(Error(
            "RULECAST_SEGMENTATION['BUDGET_TOLERANCE'] must be a number >= 0 or None.",
            id="segmentation.E006",
        ))
    share = segmentation_settings.LIVE_REFRESH_ALL_SHARE
    if share is not None and not (isinstance(share, int | float) and 0 < share <= 1):
        errors.append(Error(
            "RULECAST_SEGMENTATION['LIVE_REFRESH_ALL_SHARE'] must be a number in (0, 1] "
            "or None.",
            id="segmentation.E009",
        ))
    heartbeat, timeout = (segmentation_settings.RUN_HEARTBEAT,
                          segmentation_settings.RUN_TIMEOUT)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0
                  for v in (heartbeat, timeout))
    if not numbers or timeout < 3 * heartbeat:
        errors.append(Error(
            "RULECAST_SEGMENTATION['RUN_HEARTBEAT'] and ['RUN_TIMEOUT'] must be positive "
            "numbers, the timeout at least three heartbeats: a live run must never look dead.",
            id="segmentation.E007",
        ))
    requeues = segmentation_settings.RUN_MAX_REQUEUES
    if not isinstance(requeues, int) or isinstance(requeues, bool) or requeues < 0:
        errors.append(Error(
            "RULECAST_SEGMENTATION['RUN_MAX_REQUEUES'] must be a whole number, 0 or more.",
            id="segmentation.E008",
        ))
    return errors
