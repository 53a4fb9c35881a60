"""Settings come from the environment and are safe in production."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**clean, "DJANGO_SETTINGS_MODULE": "rulecast.settings", **env},
    )


def test_production_settings_pass_the_deploy_check():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="shop.example.com",
        RULECAST_BASE_URL="https://shop.example.com",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_secret_key_is_required_without_debug():
    result = manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_allows_the_development_key():
    result = manage("check", DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_the_shop_currency_comes_from_the_environment():
    code = "from crm.conf import crm_settings; print(crm_settings.DEFAULT_CURRENCY)"
    shown = manage("shell", "-c", code, DEBUG="1", RULECAST_CURRENCY="usd")
    assert shown.stdout.strip().splitlines()[-1] == "USD", shown.stderr
    assert manage("shell", "-c", code, DEBUG="1").stdout.strip().splitlines()[-1] == "CNY"
