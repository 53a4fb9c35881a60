"""The plugin claim: a developer follows the README's "Use it in your project" alone.

Build the wheel, install it into a fresh virtual environment, ``startproject``, then
write exactly the README section's code blocks (each names its file on its first
line; "(append)" appends), migrate, and serve every URL the section documents, up to
a first campaign: a hand-written segment, a campaign for it, a test, a launch.
The wheel itself holds only the three apps: no demo project, no demo commands.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Use it in your project"

pytestmark = pytest.mark.slow

#: Run inside the host project (its venv, its settings): the admin and public pages
#: the README lists, and a first campaign through the admin's own URLs.
HOST_SCRIPT = textwrap.dedent(
    """
    import json

    import django

    django.setup()
    from django.core import mail
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host, and the locmem mail outbox

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from campaigns.models import Campaign
    from crm.models import Customer
    from segmentation.features.store import refresh_feature_table
    from segmentation.models import Segment

    out = {}
    owner = get_user_model().objects.create_superuser("owner", "owner@example.com", "pw")
    admin = Client()
    admin.force_login(owner)
    pages = ["/admin/", "/admin/crm/customer/", "/admin/crm/customer/import/",
             "/admin/crm/order/import/", "/admin/segmentation/segmentation/add/",
             "/admin/segmentation/segment/add/", "/admin/segmentation/segmentationrun/",
             "/admin/campaigns/campaign/add/"]
    out["pages"] = {url: admin.get(url).status_code for url in pages}
    home = admin.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    out["switcher"] = 'action="/i18n/setlang/"' in home
    out["chinese"] = '<html lang="zh-hans"' in home
    out["setlang"] = admin.post("/i18n/setlang/", {"language": "en", "next": "/admin/"}).status_code

    # A first campaign, through the admin's pages.
    for n in range(3):
        Customer.objects.create(email=f"c{n}@example.com", name=f"C{n}", consent_status="granted")
    refresh_feature_table(now=timezone.now())  # what a run does first
    rule = {"version": 1, "any": [{"all": [{"feature": "frequency", "op": ">=", "value": 0}]}]}
    made = admin.post("/admin/segmentation/segment/add/", {
        "name": "Everyone", "name_zh": "", "description": "", "description_zh": "",
        "rule_format": "json", "rule_document": json.dumps(rule)})
    out["segment"] = made.status_code
    segment = Segment.objects.get(name="Everyone")
    inlines = admin.get("/admin/campaigns/campaign/add/").context["inline_admin_formsets"]
    empty_inlines = {}  # links, automation: left empty
    for inline in inlines:
        empty_inlines.update({f"{inline.formset.prefix}-TOTAL_FORMS": 0,
                              f"{inline.formset.prefix}-INITIAL_FORMS": 0})
    made = admin.post("/admin/campaigns/campaign/add/", {
        "name": "Hello", "subject": "Hello {{ name }}", "html_body": "<p>Hi {{ name }}</p>",
        "text_body": "Hi {{ name }}", "from_email": "", "reply_to": "", "segments": [segment.pk],
        "excluded_segments": [], "scheduled_at_0": "", "scheduled_at_1": "", "rate_limit": "",
        "test_address": "me@example.com", **empty_inlines})
    out["campaign"] = made.status_code
    campaign = Campaign.objects.get(name="Hello")
    base = f"/admin/campaigns/campaign/{campaign.pk}/"
    out["campaign_pages"] = {url: admin.get(url).status_code
                             for url in (base + "change/", base + "send-test/", base + "launch/",
                                         base + "stats/", base + "preview/")}
    admin.post(base + "send-test/")
    out["test_mail"] = [m.to for m in mail.outbox]
    admin.post(base + "launch/")
    campaign.refresh_from_db()
    out["status"] = campaign.status
    out["mail"] = sorted(m.to[0] for m in mail.outbox)
    out["public"] = Client().get("/mail/u/preview/").status_code
    out["signup"] = Client().get("/signup/").status_code
    api = ["/api/", "/api/v1/", "/api/v1/campaigns/", "/api/v1/customers/",
           "/api/v1/segments/", "/api/v1/schema/", "/api/v1/docs/"]
    out["api"] = {url: admin.get(url).status_code for url in api}
    token = Client().post("/api/v1/token/", {"username": "owner", "password": "pw"},
                          content_type="application/json")
    out["token"] = token.status_code
    out["token_works"] = Client().get(
        "/api/v1/campaigns/", HTTP_AUTHORIZATION="Token " + token.json()["token"]).status_code
    print("RESULT " + json.dumps(out))
    """
)


def readme_files() -> list[tuple[str, str, bool]]:
    """The README section's file blocks: (path, text, append?)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    files = []
    for block in re.findall(r"```(?:python|html)\n(.*?)```", section, re.S):
        first = block.splitlines()[0]
        if first.startswith("# yourapp/"):
            continue  # "Your own features": an example for the reader's own app
        named = re.match(r"^(?:#|<!--)\s*(\S+)(\s+\(append\))?", first)
        assert named, f"a README block without its file name: {first!r}"
        files.append((named.group(1), block, bool(named.group(2))))
    return files


def run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_readme_section_names_its_files():
    names = [name for name, _, _ in readme_files()]
    assert names == ["shop/settings.py", "shop/urls.py", "shop/celery.py", "shop/__init__.py",
                     "templates/admin/base_site.html"]


def test_a_developer_follows_the_readme_from_pip_install_to_a_first_campaign(tmp_path):
    # Built from a clean copy: a checkout's build/ and egg-info may hold files of old builds.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", "build", "dist", "*.egg-info", "test-artifacts", "__pycache__", "*.sqlite3*",
        ".git", "node_modules"))
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        source)
    wheel = next(dist.glob("django_rulecast-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if "/" in name and ".dist-info" not in name}
    assert tops == {"crm", "segmentation", "campaigns"}
    assert not [n for n in names if n.startswith("crm/demo/") or "seed_demo" in n
                or "demo_admin" in n]
    assert {f"{app}/py.typed" for app in tops} <= set(names)
    assert "crm/templates/rulecast/language_switcher.html" in names

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", str(wheel)], tmp_path)  # "pip install"

    host = tmp_path / "host"
    host.mkdir()
    run([str(python), "-m", "django", "startproject", "shop", "."], host)
    for name, text, append in readme_files():
        path = host / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if append:
            path.write_text(path.read_text() + "\n" + text)
        else:
            path.write_text(text)
    (host / "host_check.py").write_text(HOST_SCRIPT)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "shop.settings",
           "PYTHONPATH": str(host), "HOME": str(tmp_path)}

    migrate = run([str(python), "manage.py", "migrate", "--noinput"], host, env)
    assert "Applying campaigns.0001_initial... OK" in migrate.stdout
    check = run([str(python), "manage.py", "check"], host, env)
    assert "no issues" in check.stdout, check.stdout + check.stderr
    where = run([str(python), "-c", "import crm; print(crm.__file__)"], host, env)
    assert str(venv) in where.stdout  # the wheel, not this checkout
    commands = run([str(python), "manage.py", "help", "--commands"], host, env).stdout.split()
    assert "segment" in commands and "seed_demo" not in commands and "demo_admin" not in commands

    output = run([str(python), "host_check.py"], host, env).stdout
    result = json.loads(output.split("RESULT ", 1)[1])
    assert result["pages"] == {url: 200 for url in result["pages"]}, result["pages"]
    assert result["switcher"] and result["chinese"] and result["setlang"] == 302
    assert result["segment"] == 302 and result["campaign"] == 302
    assert result["campaign_pages"] == {url: 200 for url in result["campaign_pages"]}
    assert result["test_mail"] == [["me@example.com"]]
    assert result["status"] == "sent"
    assert result["mail"] == ["c0@example.com", "c1@example.com", "c2@example.com",
                              "me@example.com"]
    assert result["public"] == 200 and result["signup"] == 200
    assert result["api"] == {url: 200 for url in result["api"]}, result["api"]
    assert result["token"] == 200 and result["token_works"] == 200
