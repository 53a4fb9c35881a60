"""Translations: every app ships a complete, compiled Simplified Chinese catalog,
and the language is chosen by the browser (Accept-Language) or the user (set_language).

Catalogs live in each app's ``locale/`` (they ship in the wheel). To update one:
``cd <app> && django-admin makemessages -l zh_Hans`` (run without settings, so the
app's own ``locale/`` is used), translate, then ``compilemessages`` and commit both
the .po and the .mo.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

APPS = ["crm", "segmentation", "campaigns"]
LOCALES = [code.replace("-hans", "_Hans") for code, _ in settings.LANGUAGES if code != "en"]


def po_files() -> list[Path]:
    return [
        Path(apps.get_app_config(app).path) / "locale" / locale / "LC_MESSAGES" / "django.po"
        for app in APPS for locale in LOCALES
    ]


# --- a tiny .po reader --------------------------------------------------------------------


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file: flags, msgctxt, msgid, msgid_plural, msgstr (a list)."""
    entries = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry: dict = {"flags": set(), "msgstr": {}}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#"):
                continue
            else:
                match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$",
                                 line)
                if match:
                    key, index, text = match.group(1), match.group(2), match.group(3)
                    if key.startswith("msgstr"):
                        key = ("msgstr", int(index or 0))
                    value = ast.literal_eval(text)
                else:  # a continuation line
                    value = ast.literal_eval(line.strip())
                if isinstance(key, tuple):
                    entry["msgstr"][key[1]] = entry["msgstr"].get(key[1], "") + value
                else:
                    entry[key] = entry.get(key, "") + value
        if "msgid" in entry or entry.get("obsolete"):
            entries.append(entry)
    return entries


def messages(path: Path) -> list[dict]:
    """The real messages (no header, no obsolete ones)."""
    return [e for e in read_po(path) if e.get("msgid") and not e.get("obsolete")]


PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%|%[sd]|\{\{ *[a-z_.]+ *\}\}")
TAG = re.compile(r"</?[a-z]+[^>]*>")


# --- the catalogs ------------------------------------------------------------------------


@pytest.mark.parametrize("path", po_files(), ids=lambda p: str(p.relative_to(p.parents[4])))
def test_every_message_is_translated_and_none_is_fuzzy(path):
    assert path.exists(), f"missing catalog {path}"
    entries = read_po(path)
    header = next(e for e in entries if e.get("msgid") == "")
    assert "fuzzy" not in header["flags"]
    assert "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"][0]
    found = messages(path)
    assert found, "an empty catalog"
    fuzzy = [e["msgid"] for e in found if "fuzzy" in e["flags"]]
    untranslated = [e["msgid"] for e in found if not all(e["msgstr"].values())]
    assert not fuzzy, f"fuzzy: {fuzzy}"
    assert not untranslated, f"untranslated: {untranslated}"
    obsolete = [e for e in read_po(path) if e.get("obsolete")]
    assert not obsolete, "obsolete (#~) entries left in the catalog"


@pytest.mark.parametrize("path", po_files(), ids=lambda p: str(p.relative_to(p.parents[4])))
def test_translations_keep_placeholders_and_html(path):
    for entry in messages(path):
        for msgstr in entry["msgstr"].values():
            for pattern in (PLACEHOLDER, TAG):
                assert sorted(pattern.findall(entry["msgid"])) == sorted(pattern.findall(msgstr)), (
                    entry["msgid"], msgstr)


@pytest.mark.parametrize("path", po_files(), ids=lambda p: str(p.relative_to(p.parents[4])))
def test_the_committed_mo_matches_the_po(path):
    """Someone edited a .po and forgot compilemessages: the .mo would be stale."""
    mo = path.with_suffix(".mo")
    assert mo.exists(), f"{mo} is not compiled"
    with mo.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    for entry in messages(path):
        msgid = entry["msgid"]
        if "msgctxt" in entry:
            msgid = f"{entry['msgctxt']}\x04{msgid}"
        if "msgid_plural" in entry:
            for index, msgstr in entry["msgstr"].items():
                assert catalog.get((msgid, index)) == msgstr, msgid
        else:
            assert catalog.get(msgid) == entry["msgstr"][0], msgid


def test_shared_messages_read_the_same_in_every_app():
    """All apps share the "django" domain, so one msgid must have one translation."""
    seen: dict[tuple, tuple[str, Path]] = {}
    for path in po_files():
        for entry in messages(path):
            key = (entry.get("msgctxt"), entry["msgid"], entry.get("msgid_plural"))
            msgstr = entry["msgstr"][0]
            if key in seen:
                assert seen[key][0] == msgstr, (key, seen[key], msgstr, path)
            seen[key] = (msgstr, path)


# --- strings in code come out in Chinese ------------------------------------------------------


def test_model_and_app_names_in_chinese():
    from campaigns.models import Campaign
    from crm.models import Customer, Order
    from segmentation.models import Segment, Segmentation

    with translation.override("zh-hans"):
        assert str(Customer._meta.verbose_name) == "客户"
        assert str(Order._meta.verbose_name_plural) == "订单"
        assert str(Segment._meta.verbose_name) == "分群"
        assert str(Segmentation._meta.verbose_name) == "客户分群"
        assert str(Campaign._meta.verbose_name) == "营销活动"
        assert str(apps.get_app_config("crm").verbose_name) == "客户"
        assert str(apps.get_app_config("segmentation").verbose_name) == "客户分群"
        assert str(apps.get_app_config("campaigns").verbose_name) == "营销活动"
    with translation.override("en"):
        assert str(Customer._meta.verbose_name) == "customer"
        assert str(Campaign._meta.verbose_name) == "campaign"


def test_segment_review_metrics_in_chinese():
    from segmentation.models import SegmentationRun
    from segmentation.review import STAGES, metric_cards

    run = SegmentationRun(customer_count=1200)
    metrics = {"k": 4, "unassigned": 3, "fidelity": 0.93, "price_of_explainability": 1.04,
               "silhouette_clusters": 0.41, "silhouette_rules": 0.38, "n_leaves": 7,
               "max_leaves": 8}
    with translation.override("zh-hans"):
        labels = [card["label"] for card in metric_cards(run, metrics)]
        assert labels == ["分群", "客户", "保真度", "可解释性代价", "轮廓系数", "规则分支"]
        assert str(STAGES["explain"]) == "正在生成规则"
    with translation.override("en"):
        assert "Price of explainability" in [c["label"] for c in metric_cards(run, metrics)]


def test_campaign_messages_in_chinese():
    with translation.override("zh-hans"):
        page = render_to_string("campaigns/unsubscribed.html", {"address": "a@example.com"})
    assert "您已退订" in page
    assert "我们将不再向 <strong>a@example.com</strong> 发送营销邮件。" in page


# --- pages: chosen by the browser or by the user ----------------------------------------------


@pytest.fixture
def superuser_client(client, db):
    client.force_login(User.objects.create_superuser("i18n", "i18n@example.com", "pw"))
    return client


def test_customer_changelist_follows_the_browser_language(superuser_client):
    url = reverse("admin:crm_customer_changelist")
    page = superuser_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans"' in page
    assert "选择 客户 来修改" in page  # Django's "Select %s to change" with our model name
    assert "导入 CSV" in page and "全部导出为 CSV" in page  # crm's template
    assert "最近下单" in page  # the filter segmentation adds to the customer admin

    english = superuser_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Select customer to change" in english and "Import CSV" in english


def test_a_chinese_browser_on_zh_cn_gets_simplified_chinese(superuser_client):
    page = superuser_client.get(reverse("admin:campaigns_campaign_changelist"),
                                HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5").content.decode()
    assert "营销活动" in page


def test_the_users_choice_wins_over_the_browser(superuser_client):
    response = superuser_client.post(reverse("set_language"),
                                     {"language": "zh-hans", "next": "/admin/"})
    assert response.status_code == 302
    assert superuser_client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    page = superuser_client.get(reverse("admin:crm_customer_changelist"),
                                HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "选择 客户 来修改" in page


def test_the_public_unsubscribe_page_in_chinese(client):
    page = client.get(reverse("campaigns:unsubscribe", args=["preview"]),
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<title>退订</title>" in page
    assert "这是测试邮件中的退订链接，不会为任何人退订。" in page


# --- nothing user-facing left unmarked ----------------------------------------------------------

TEMPLATE_ROOTS = [Path(apps.get_app_config(app).path) / "templates" for app in APPS] + [
    Path(settings.BASE_DIR) / "templates"]
#: Words that are the same in every language (format names, units, symbols).
UNTRANSLATED_WORDS = {"JSON", "JsonLogic", "SQL", "CSV", "PC1", "PC2", "k"}


def visible_text(source: str) -> str:
    """A template's literal text: tags, comments, variables, scripts and styles removed."""
    source = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", source, flags=re.S)
    source = re.sub(r"{%\s*(blocktranslate|blocktrans)\b.*?{%\s*end\1\s*%}", " ", source,
                    flags=re.S)
    source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.S | re.I)
    source = re.sub(r"{%\s*block bodyclass\s*%}.*?{%\s*endblock", " ", source, flags=re.S)
    source = re.sub(r"<!--.*?-->", " ", source, flags=re.S)
    source = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", " ", source, flags=re.S)
    source = re.sub(r"<[^>]*>", " ", source, flags=re.S)
    return re.sub(r"&[a-z]+;|&#\d+;", " ", source)


def unmarked_words(text: str) -> list[str]:
    return [word for word in re.findall(r"[A-Za-z][A-Za-z'’-]+", text)
            if word not in UNTRANSLATED_WORDS]


@pytest.mark.parametrize("template", [
    path for root in TEMPLATE_ROOTS for path in sorted(root.rglob("*.html"))
    # A 500 page renders with no context, so no translation: it is written in both languages.
    if path.name != "500.html"
], ids=lambda p: str(p.relative_to(Path(settings.BASE_DIR))))
def test_templates_have_no_text_outside_translate_tags(template):
    words = unmarked_words(visible_text(template.read_text(encoding="utf-8")))
    assert not words, f"{template}: text not in {{% translate %}}: {words}"


def test_the_template_scan_finds_unmarked_text():
    assert unmarked_words(visible_text("<p>{% translate 'Hello' %} {{ name }}</p>")) == []
    assert unmarked_words(visible_text("<p>Hello {{ name }}</p><script>var a;</script>")) == \
        ["Hello"]


#: Django's own messages without a Simplified Chinese translation (not ours to fix).
DJANGO_GAPS = ("Change or view list link",)
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{3,}(?:[ ,]+[A-Za-z]{2,}){2,}\b")


def english_left(page: str) -> list[str]:
    """Runs of three or more English words in a page's visible text.

    Text marked ``lang="en"`` (a segment's English name beside its Chinese one) and
    runs of format names (JSON, JsonLogic, SQL) are meant to be there.
    """
    text = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S | re.I)
    text = re.sub(r'<(\w+)[^>]*\blang="en"[^>]*>.*?</\1>', " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    for gap in DJANGO_GAPS:
        text = text.replace(gap, " ")
    return [run for run in ENGLISH_RUN.findall(text)
            if not set(re.findall(r"[A-Za-z]+", run)) <= UNTRANSLATED_WORDS]


def test_the_review_page_in_chinese_has_no_english_left(superuser_client):
    """Run notes, the movement table, charts' words: everything the review page shows."""
    from segmentation.models import Segmentation, SegmentationRun
    from segmentation.services import execute_run, publish_run
    from tests.segmentation.conftest import NOW, build_shop

    build_shop()
    segmentation = Segmentation.objects.create(name="分群", n_clusters=3)
    first = execute_run(run_id=SegmentationRun.objects.create(segmentation=segmentation).pk,
                        now=NOW)
    publish_run(run=first)
    second = execute_run(run_id=SegmentationRun.objects.create(segmentation=segmentation).pk,
                         now=NOW)
    assert second.metrics.get("stability")
    notes = ["thresholds rounded to readable values: 0.40% of customers changed segment "
             "(fidelity 99.8% before rounding)",
             "feature 'sessions_30d' is constant and was left out"]
    SegmentationRun.objects.filter(pk=second.pk).update(metrics={**second.metrics, "notes": notes})
    url = reverse("admin:segmentation_segmentationrun_review", args=[second.pk])
    english = superuser_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Movement since the published run" in english  # the English page has them
    page = superuser_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'id="rc-movement"' in page and "从已发布运行以来的变动" not in english
    assert english_left(page) == []
    assert "阈值已取整为易读的数值：0.40% 的客户因此更换了分群（取整前保真度为 99.8%）。" in page
    assert "特征“近30天访问次数”对所有客户取值相同，已排除。" in page


def test_the_builder_and_campaign_pages_in_chinese_have_no_english_left(superuser_client):
    from campaigns.models import Campaign

    campaign = Campaign.objects.create(name="春季", subject="你好", html_body="<p>x</p>",
                                       text_body="x", test_address="me@example.com")
    for url in ("/admin/segmentation/segment/add/", "/admin/segmentation/segmentation/add/",
                f"/admin/campaigns/campaign/{campaign.pk}/change/",
                f"/admin/campaigns/campaign/{campaign.pk}/launch/",
                f"/admin/campaigns/campaign/{campaign.pk}/send-test/"):
        page = superuser_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert '<html lang="zh-hans"' in page
        assert english_left(page) == [], url


def test_the_admin_header_has_a_language_switcher(superuser_client):
    page = superuser_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'action="{reverse("set_language")}"' in page
    assert '<option value="zh-hans"' in page and "简体中文" in page


def test_the_project_404_page_in_chinese(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 404
    assert "这个地址没有内容" in response.content.decode()
