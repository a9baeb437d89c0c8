"""The Chinese UI shows no English message: every page a seller can reach, in its error
states too (field errors, upload errors, limits, error pages), and the bulk result CSV.

Two checks on the visible text of each zh-CN page: no English message of the catalogue
(extracted from the source with Babel) appears in it verbatim, and no run of four or more
English words appears at all, which catches service messages that never went through the
catalogue. User data in these pages is Chinese or a URL, and URLs are left out.
"""

from __future__ import annotations

import html
import re

from babel.messages.extract import extract_from_dir
from dashboard_harness import Browser, Dash

from hoplink.dashboard.i18n import LOCALE_DIR
from hoplink.workspaces.quotas import set_quota

# Scripts, styles, and identifiers shown as such (<code>, the options of a <select>: channel
# keys, column names, time-zone names) are not prose.
_TAGS = re.compile(
    r"<(script|style|code|select|datalist)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE
)
_URL = re.compile(r"(?:https?|ftp)://\S+|\S+\.(?:com|test|example)\S*")
_ENGLISH_RUN = re.compile(r"\b[A-Za-z][a-z']+(?:[ ,;:]+[A-Za-z][a-z']+){3,}")
_STOPWORDS = frozenset(
    {"the", "a", "an", "to", "of", "is", "are", "be", "not", "in", "on", "for", "and"}
    | {"or", "with", "from", "this", "that", "your", "you", "it", "must", "no", "can"}
)
# Names that stay English in Chinese on purpose (brands, formats).
_KEPT = ("CSV UTF-8",)


def _english_messages() -> set[str]:
    found = extract_from_dir(
        str(LOCALE_DIR.parent),
        [("**.py", "python"), ("templates/**.html", "jinja2")],
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"_": None, "gettext": (2,), "N_": None},
    )
    out = set()
    for _, _, message, _, _ in found:
        if isinstance(message, str) and " " in message:
            # The text before the first placeholder: what a reader would see verbatim.
            head = message.split("%(")[0].strip()
            if len(head.split()) >= 3:
                out.add(head)
    return out


ENGLISH = _english_messages()


def visible_text(body: str) -> str:
    text = html.unescape(_TAGS.sub(" ", body))
    return " ".join(_URL.sub(" ", text).split())


def untranslated(text: str) -> list[str]:
    for kept in _KEPT:
        text = text.replace(kept, " ")
    problems = [m for m in ENGLISH if m in text]
    # A run of English words is prose when it has a function word; a list of identifiers
    # (column names, scopes) does not.
    problems += [
        m.group(0)
        for m in _ENGLISH_RUN.finditer(text)
        if _STOPWORDS & set(re.findall(r"[a-z']+", m.group(0).lower()))
    ]
    return problems


def test_the_detector_finds_english() -> None:
    assert len(ENGLISH) > 150
    assert untranslated("链接 This field is required. 已保存")
    assert untranslated("链接请以 https:// 开头 (must be a full link starting with)")
    assert not untranslated(
        visible_text("<p>链接已保存。</p><code>https://a.example/x y z w</code>")
    )


async def _zh(dash: Dash) -> tuple[Browser, str]:
    b, ws = await dash.signed_in(ws=await dash.workspace("爱客美妆"))
    assert (await b.post("/app/lang", {"lang": "zh_CN", "next": "/app/"})).status_code == 303
    return b, f"/app/w/{ws.slug}"


async def test_every_reachable_zh_page_and_the_result_csv_is_chinese(dash: Dash) -> None:
    b, base = await _zh(dash)
    pages: dict[str, str] = {}

    async def page(name: str, response_text: str) -> None:
        pages[name] = visible_text(response_text)

    link = await b.post(f"{base}/links", {"url": "https://shop.example.com/1", "title": "凉鞋"})
    link_path = link.headers["location"].split("?")[0]
    for name, path in (
        ("links", f"{base}/links"),
        ("new", f"{base}/links/new"),
        ("detail", link_path),
        ("edit", f"{link_path}/edit"),
        ("disable", f"{link_path}/disable"),
        ("delete", f"{link_path}/delete"),
        ("bulk", f"{base}/bulk"),
        ("analytics", f"{base}/analytics"),
        ("analytics reversed", f"{base}/analytics?range=custom&from=2026-05-02&to=2026-05-01"),
        ("campaigns", f"{base}/campaigns"),
        ("settings", f"{base}/settings"),
        ("domains", f"{base}/settings/domains"),
        ("404", f"{base}/links/lnk_nosuchlink"),
        ("bulk 404", f"{base}/bulk/nosuchjob"),
    ):
        await page(name, (await b.get(path)).text)
    # Field errors of every kind the forms produce.
    for url in ("shop.example.com/x", "", "ftp://shop.example.com/", "https://exa mple.com/"):
        bad = await b.post(f"{base}/links", {"url": url, "code": "a b", "utm_source": "x" * 300})
        assert bad.status_code == 422
        await page(f"new with {url!r}", bad.text)
    bad_edit = await b.post(f"{link_path}/edit", {"url": "javascript:alert(1)"})
    await page("edit error", bad_edit.text)
    # The campaign tools: refused forms, then a rule, a running A/B test and the builder.
    bad_rule = await b.post(
        f"{link_path}/rules",
        {"c0_type": "device", "c0_values": "toaster", "c1_type": "time", "c1_start": "x",
         "c2_type": "query", "action_type": "app", "action_preset": "nope"},
    )  # fmt: skip
    assert bad_rule.status_code == 422
    await page("rule errors", bad_rule.text)
    bad_ab = await b.post(f"{link_path}/ab", {"v0_weight": "0", "v1_url": "http://10.0.0.1/"})
    assert bad_ab.status_code == 422
    await page("a/b errors", bad_ab.text)
    bad_schedule = await b.post(
        f"{link_path}/schedule",
        {"starts_at": "2030-01-02T00:00", "ends_at": "2030-01-01T00:00", "max_clicks": "0",
         "expiry_url": "ftp://x"},
    )  # fmt: skip
    assert bad_schedule.status_code == 422
    await page("schedule errors", bad_schedule.text)
    made = await b.post(
        f"{link_path}/rules",
        {"c0_type": "in_app", "c1_type": "os", "c1_values": "android", "action_type": "app",
         "action_preset": "taobao"},
    )  # fmt: skip
    assert made.status_code == 303, made.text
    started = await b.post(
        f"{link_path}/ab", {"v0_weight": "1", "v1_url": "https://shop.example.com/1-b"}
    )
    assert started.status_code == 303, started.text
    tools = await b.get(link_path)
    await page("detail with rules and a test", tools.text)
    rule_id = re.search(r'data-rule="(rul_\w+)"', tools.text)
    assert rule_id
    await page("rule builder", (await b.get(f"{link_path}?edit_rule={rule_id.group(1)}")).text)
    bad_settings = await b.post(
        f"{base}/settings/workspace",
        {"name": "", "timezone": "Mars/Base", "fallback_url": "shop", "param_template": "x"},
    )
    await page("settings errors", bad_settings.text)
    key_error = await b.post(f"{base}/settings/keys", {"name": "k"})
    await page("key error", key_error.text)
    # Upload errors, then a job with failed rows and its CSV.
    for text in ("", "url,colour\nhttps://shop.example.com/1,red"):
        await page(f"bulk error {text[:8]!r}", (await b.post(f"{base}/bulk", {"text": text})).text)
    started = await b.post(
        f"{base}/bulk", {"text": "url,code\nhttps://shop.example.com/2,\nftp://bad,\nnot a url,a b"}
    )
    job = started.headers["location"]
    for _ in range(200):
        if (await b.get(f"{job}/progress")).json()["state"] != "running":
            break
    await page("bulk job", (await b.get(job)).text)
    result_csv = (await b.get(f"{job}/results.csv")).text
    errors = [line.rsplit(",", 1)[-1] for line in result_csv.splitlines() if ",error," in line]
    assert len(errors) >= 2
    pages["results.csv errors"] = " ".join(errors)
    # A limit reached, and the error pages.
    async with dash.db.transaction() as tx:
        ws = await tx.workspaces.find(base.rsplit("/", 1)[1])
        assert ws is not None
        await set_quota(tx, workspace=ws, per_day=1, per_month=None)
    quota = await b.post(f"{base}/links", {"url": "https://shop.example.com/3"})
    assert quota.status_code == 429
    await page("quota", quota.text)
    await page("405", (await b.http.put(f"{base}/links")).text)
    forged = await b.post(f"{base}/links", {"url": "https://shop.example.com/4"}, token="forged")
    assert forged.status_code == 403
    await page("csrf", forged.text)

    found = {name: untranslated(text) for name, text in pages.items()}
    assert {name: p for name, p in found.items() if p} == {}
