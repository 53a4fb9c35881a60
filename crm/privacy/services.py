"""The privacy facade: what admin, API, commands, tasks and other apps call."""

from .access import customer_data, export_customer
from .audit import log_csv_export, log_privacy_action
from .consent import (
    acting,
    address_digest,
    is_erased_address,
    record_consent_change,
    record_upserted,
    record_withdrawal,
    set_consent,
)
from .erasure import ErasureReport, erase_customer, is_erased
from .models import ConsentSource
from .registry import register
from .retention import apply_retention
from .selectors import find_customer
from .signup import SignupError, confirm_signup, request_signup

__all__ = [
    "ConsentSource", "ErasureReport", "SignupError", "acting", "address_digest", "apply_retention",
    "confirm_signup", "customer_data", "erase_customer", "export_customer", "find_customer",
    "is_erased", "is_erased_address", "log_csv_export", "log_privacy_action",
    "record_consent_change", "record_upserted", "record_withdrawal", "register",
    "request_signup", "set_consent",
]
