"""The public double opt-in sign-up pages (the service is :mod:`crm.privacy.signup`)."""
