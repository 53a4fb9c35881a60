"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, an SMTP sink.

The browser is Debian's ``/usr/bin/chromium`` (``apt-get install -y chromium``);
Playwright never downloads one (no ``playwright install``). Under ``CI=true`` a
missing Chromium fails the tests, on a laptop it skips them (``tests.services.require``).

Playwright's sync API keeps an asyncio loop "running" in the main thread for as long
as it is started, and Django refuses ORM calls under a running loop. So Playwright
lives only for one test module, and ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set only while it
lives: the rest of the suite keeps Django's async-safety checks.

When a test fails, each page it opened is saved to ``test-artifacts/e2e/`` as a
screenshot and its HTML.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import require

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 900}
PASSWORD = "e2e-password-0123"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def browser():
    """Chromium for the module's tests (and Django's async-unsafe check relaxed meanwhile)."""
    require(CHROMIUM.exists(), f"Chromium ({CHROMIUM})")
    require(importlib.util.find_spec("playwright") is not None,
            "Playwright (pip install playwright, in the dev extra)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                  args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()


class Pages:
    """Opens browser contexts for a test and saves their pages when the test fails."""

    def __init__(self, browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts = []

    def new(self, **options):
        context = self.browser.new_context(
            base_url=self.base_url, viewport=VIEWPORT, device_scale_factor=1, **options,
        )
        context.set_default_timeout(30_000)
        context.set_default_navigation_timeout(60_000)
        self.contexts.append(context)
        return context.new_page()

    def save(self, name: str) -> list[Path]:
        """Each open page as ``<name>-<n>.png`` and ``<name>-<n>.html``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        saved = []
        pages = [page for context in self.contexts for page in context.pages]
        for n, page in enumerate(pages, start=1):
            stem = ARTIFACTS / f"{name}-{n}"
            try:
                page.screenshot(path=f"{stem}.png", full_page=True)
                saved.append(stem.with_suffix(".png"))
            except Exception:  # noqa: BLE001 — keep what can be kept
                pass
            try:
                stem.with_suffix(".html").write_text(
                    f"<!-- {page.url} -->\n{page.content()}", encoding="utf-8")
                saved.append(stem.with_suffix(".html"))
            except Exception:  # noqa: BLE001
                pass
        return saved

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, live_server, request) -> Iterator[Pages]:
    """A factory of pages on the live server; on failure every page is saved for debugging."""
    opened = Pages(browser, live_server.url)
    yield opened
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for path in opened.save(f"FAILED-{name}"):
            print(f"saved {path}")  # shown with the failure
    opened.close()


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(
        username="owner", email="owner@example.com", password=PASSWORD,
    )


def log_in(page, user) -> None:
    """Log in through the admin's login form."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.locator("#login-form [type=submit]").click()
    page.wait_for_url("**/admin/")
    assert page.locator("#user-tools").is_visible()


@pytest.fixture
def smtp_sink(settings, live_server):
    """A real SMTP server on loopback; the live server sends through it and links back to it."""
    from tests.campaigns.conftest import SMTPServer

    server = SMTPServer()
    server.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    # Tracking and unsubscribe links in the emails point at the live server.
    settings.RULECAST_CAMPAIGNS = {**getattr(settings, "RULECAST_CAMPAIGNS", {}),
                                   "BASE_URL": live_server.url}
    try:
        yield server
    finally:
        server.controller.stop()

