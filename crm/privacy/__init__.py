"""Privacy: consent records, double opt-in sign-up, erasure, access export, retention.

Call :mod:`crm.privacy.services` (the facade); this package's ``__init__`` stays empty
because ``crm.models`` imports :mod:`crm.privacy.models` while models load.
"""
