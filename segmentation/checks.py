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
    heartbeat, timeout = (segmentation_settings.RUN_HEARTBEAT,
                          segmentation_settings.RUN_TIMEOUT)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0
                  for v in (heartbeat, timeout))
    if not numbers or timeout < 3 * heartbeat:
        errors.append(Error(
            "RULECAST_SEGMENTATION['RUN_HEARTBEAT'] and ['RUN_TIMEOUT'] must be positive "
            "numbers, the timeout at least three heartbeats: a live run must never look dead.",
            id="segmentation.E004",
        ))
    requeues = segmentation_settings.RUN_MAX_REQUEUES
    if not isinstance(requeues, int) or isinstance(requeues, bool) or requeues < 0:
        errors.append(Error(
            "RULECAST_SEGMENTATION['RUN_MAX_REQUEUES'] must be a whole number, 0 or more.",
            id="segmentation.E005",
        ))
    return errors
