"""Every dashboard page at 390 px (phone) and 1366 px, in English and Chinese, and the
analytics controls (issue 14).

On every page: no horizontal overflow. On a link's page: the whole short URL is on screen.
On analytics: the chart's text is drawn at 11 px or more, presets apply on click, the date
fields belong to "custom", a reversed range is explained with the numbers kept, the time
axis is marked on round hours or days in the reader's language, and a value only bots
brought is in the bots table alone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from browser_server import SLUG, Server
from browser_session import Session, open_session
from playwright.sync_api import Browser, Page, expect

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
BOT_UA = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
HUMAN_REFERRER = "https://m.facebook.com/"
BOT_ONLY_REFERRER = "https://bots-only.example/"
LONG_URL = "https://shop.example.com/item/" + "a-very-long-product-slug-" * 6 + "x?sku=1"
SIZES = {"phone": (390, 844), "desktop": (1366, 850)}
LOCALES = {"en": "en-US", "zh_CN": "zh-CN"}
# A tick is a round hour ("14:00") or a day ("Dec 2" / "12月2日"); never seconds.
TICK = {
    "en": re.compile(r"^(\d{2}:00|[A-Z][a-z]{2} \d{1,2})$"),
    "zh_CN": re.compile(r"^(\d{2}:00|\d{1,2}月\d{1,2}日)$"),
}
DAY = {"en": re.compile(r"^[A-Z][a-z]{2} \d{1,2}$"), "zh_CN": re.compile(r"^\d{1,2}月\d{1,2}日$")}


@dataclass(frozen=True)
class Fixture:
    link_id: str
    short_url: str
    job_path: str


def _wait_for_clicks(server: Server, session: Session, want: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        session.go(f"/app/w/{SLUG}/analytics?range=24h")
        pv = session.page.locator("#total-pv").inner_text()
        bots = session.page.locator("#total-bots").inner_text()
        if int(pv.replace(",", "")) + int(bots.replace(",", "")) >= want:
            return
        time.sleep(0.3)
    raise AssertionError(f"the clicks did not arrive: {server.log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def made(browser: Browser, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    """A link with people's and bots' clicks, and a bulk upload with a long bad URL."""
    s = open_session(browser, server)
    try:
        s.sign_in()
        s.go(f"/app/w/{SLUG}/links/new")
        s.page.get_by_label("Product URL").fill("https://shop.example.com/item/1005006")
        s.page.get_by_label("Title (optional)").fill("Layout shoes")
        s.page.get_by_role("button", name="Create short link").click()
        expect(s.page.locator(".flash.ok")).to_be_visible()
        link_id = s.page.url.rsplit("/", 1)[1].split("?")[0]
        short_url = s.page.locator("#short-url").inner_text()
        code = short_url.rsplit("/", 1)[1]
        for _ in range(3):
            ok = server.short(code, headers={"user-agent": PHONE_UA, "referer": HUMAN_REFERRER})
            assert ok.status_code == 302
        bot = server.short(code, headers={"user-agent": BOT_UA, "referer": BOT_ONLY_REFERRER})
        assert bot.status_code == 302
        _wait_for_clicks(server, s, 4)

        upload = tmp_path_factory.mktemp("bulk") / "links.csv"
        upload.write_text(
            f"url,title\nhttps://shop.example.com/item/9,Good\nftp{LONG_URL[5:]},Bad\n",
            encoding="utf-8",
        )
        s.go(f"/app/w/{SLUG}/bulk")
        s.page.get_by_label("CSV file").set_input_files(str(upload))
        s.page.get_by_role("button", name="Create links").click()
        expect(s.page.locator("#job-state")).to_contain_text("Finished", timeout=15_000)
        job_path = s.page.url.removeprefix(server.url)
    finally:
        s.context.close()
    return Fixture(link_id=link_id, short_url=short_url, job_path=job_path)


@pytest.fixture(params=[(size, lang) for size in SIZES for lang in LOCALES], ids=str)
def screen(request: pytest.FixtureRequest, browser: Browser, server: Server) -> Iterator[Session]:
    size, lang = request.param
    width, height = SIZES[size]
    options: dict[str, object] = {
        "viewport": {"width": width, "height": height},
        "locale": LOCALES[lang],
    }
    if size == "phone":
        options |= {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    s = open_session(browser, server, **options)
    s.sign_in()
    try:
        yield s
    finally:
        assert s.watch.errors == [], s.watch.errors
        assert s.csp_violations() == []
        s.context.close()


def _pages(made: Fixture) -> list[str]:
    w = f"/app/w/{SLUG}"
    return [
        f"{w}/links",
        f"{w}/links?sort=clicks",
        f"{w}/links/new",
        f"{w}/links/{made.link_id}",
        f"{w}/links/{made.link_id}/edit",
        f"{w}/links/{made.link_id}/disable",
        f"{w}/links/{made.link_id}/delete",
        f"{w}/bulk",
        made.job_path,
        f"{w}/import",
        f"{w}/analytics",
        f"{w}/analytics?range=24h",
        f"{w}/analytics?range=30d",
        f"{w}/analytics?scope=link:{made.link_id}&range=7d",
        f"{w}/orders",
        f"{w}/conversions",
        f"{w}/campaigns",
        f"{w}/settings",
        f"{w}/settings/webhooks",
        f"{w}/settings/domains",
    ]


def _overflow(page: Page) -> int:
    """How far the page reaches past the right edge of the window (0: it fits)."""
    width: int = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )
    return width


def _smallest_chart_text(page: Page) -> float:
    """The smallest on-screen size of the visible chart's text, in CSS pixels."""
    size: float = page.evaluate(
        """() => {
          const charts = [...document.querySelectorAll('svg.chart')]
            .filter(c => c.getBoundingClientRect().width > 0);
          if (charts.length !== 1) return -charts.length;
          const svg = charts[0];
          const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
          const sizes = [...svg.querySelectorAll('text')]
            .map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
          return Math.min(...sizes);
        }"""
    )
    return size


def _ticks(page: Page) -> list[str]:
    ticks: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('svg.chart')]
          .filter(c => c.getBoundingClientRect().width > 0)
          .flatMap(c => [...c.querySelectorAll('text.x')].map(t => t.textContent))"""
    )
    return ticks


def test_every_page_fits_and_the_short_url_is_whole(screen: Session, made: Fixture) -> None:
    page = screen.page
    for path in _pages(made):
        response = screen.go(path)
        assert response.status == 200, path
        assert _overflow(page) <= 0, (path, _overflow(page))
    screen.go(f"/app/w/{SLUG}/links/{made.link_id}")
    short = page.locator("#short-url")
    expect(short).to_have_text(made.short_url)
    box = short.bounding_box()
    assert box is not None
    inner = page.evaluate("window.innerWidth")
    assert box["x"] >= 0 and box["x"] + box["width"] <= inner, box
    clipped = short.evaluate("e => e.scrollWidth > e.clientWidth")
    assert not clipped


def test_chart_text_is_legible_and_ticks_are_round(screen: Session, made: Fixture) -> None:
    page = screen.page
    lang = "zh_CN" if page.evaluate("navigator.language") == "zh-CN" else "en"
    for preset in ("24h", "7d", "30d"):
        screen.go(f"/app/w/{SLUG}/analytics?range={preset}")
        smallest = _smallest_chart_text(page)
        assert smallest >= 11, (preset, smallest)
        ticks = _ticks(page)
        assert len(ticks) >= 2, (preset, ticks)
        assert all(TICK[lang].match(t) for t in ticks), (preset, ticks)
        if preset != "24h":
            assert all(DAY[lang].match(t) for t in ticks), (preset, ticks)
        else:
            assert any(t.endswith(":00") for t in ticks), ticks
        assert _overflow(page) <= 0


def test_presets_apply_on_click_and_custom_shows_its_dates(screen: Session, made: Fixture) -> None:
    page = screen.page
    screen.go(f"/app/w/{SLUG}/analytics")
    expect(page.locator("input[name=range][value='7d']")).to_be_checked()
    expect(page.locator("#from")).to_be_hidden()
    expect(page.locator("#to")).to_be_hidden()
    page.locator("label.pill", has=page.locator("input[value='24h']")).click()
    page.wait_for_url(re.compile(r"range=24h"))
    expect(page.locator("#chart-title")).to_contain_text(re.compile("Hourly|每小时"))
    expect(page.locator("#total-pv")).to_have_text("3")
    page.locator("label.pill", has=page.locator("input[value='30d']")).click()
    page.wait_for_url(re.compile(r"range=30d"))
    expect(page.locator("#from")).to_be_hidden()
    page.locator("label.pill", has=page.locator("input[value='custom']")).click()
    expect(page.locator("#from")).to_be_visible()
    expect(page.locator("#to")).to_be_visible()
    assert "range=30d" in page.url  # "custom" waits for its dates
    page.locator("#from").fill("2026-05-01")
    page.locator("#to").fill("2026-04-01")
    page.locator("#stats-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"range=custom"))
    error = page.locator("#range-error")
    expect(error).to_contain_text("2026-05-01")
    expect(error).to_contain_text(re.compile("reversed|颠倒"))
    # The page is not emptied: the last 7 days are shown, the dates stay to be corrected.
    expect(page.locator("#total-pv")).to_have_text("3")
    expect(page.locator("#from")).to_have_value("2026-05-01")
    expect(page.locator("#from")).to_have_attribute("aria-invalid", "true")
    assert _overflow(page) <= 0


def test_values_only_bots_brought_stay_in_the_bots_table(screen: Session, made: Fixture) -> None:
    page = screen.page
    screen.go(f"/app/w/{SLUG}/analytics?range=24h")
    referrers = page.locator("#b-referrers")
    expect(referrers).to_contain_text("m.facebook.com")
    expect(referrers).not_to_contain_text("bots-only.example")
    expect(page.locator("#b-bots tbody tr")).to_have_count(1)
    # Bot-only rows are hidden from every table about people, devices included.
    expect(page.locator("#b-devices tbody tr")).to_have_count(1)


def test_the_bulk_error_table_keeps_urls_readable(screen: Session, made: Fixture) -> None:
    page = screen.page
    screen.go(made.job_path)
    cell = page.locator("table.bulk-errors tbody tr").first.locator("td").nth(1)
    box = cell.bounding_box()
    assert box is not None and box["width"] >= 200, box  # not a 6-character column
    assert _overflow(page) <= 0


def test_bulk_progress_numbers_are_written_like_the_page(
    browser: Browser, server: Server, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The counts the script updates while a job runs use the page's number format
    ("2,500"), as the server-rendered ones do, never "2500"."""
    s = open_session(browser, server, locale="zh-CN")
    page = s.page
    try:
        s.sign_in()
        upload = tmp_path_factory.mktemp("progress") / "links.csv"
        lines = "".join(f"https://shop.example.com/p/{i}\n" for i in range(2500))
        upload.write_text("url\n" + lines, encoding="utf-8")
        s.go(f"/app/w/{SLUG}/bulk")
        page.locator("input[type=file]").set_input_files(str(upload))
        # Every text the counts line shows is recorded, from the first poll on.
        page.add_init_script(
            """new MutationObserver(() => {
              const c = document.getElementById('job-counts');
              if (!c) return;
              const seen = JSON.parse(sessionStorage.getItem('counts') || '[]');
              if (seen[seen.length - 1] !== c.textContent) seen.push(c.textContent);
              sessionStorage.setItem('counts', JSON.stringify(seen));
            }).observe(document, {subtree: true, childList: true, characterData: true});"""
        )
        page.locator("form[action$='/bulk'] button.primary[type=submit]").click()
        expect(page.locator("#job-state")).to_contain_text("完成", timeout=60_000)
        seen: list[str] = page.evaluate("JSON.parse(sessionStorage.getItem('counts') || '[]')")
        assert len(seen) >= 2, seen  # the script's updates were seen, not only the last page
        final = page.locator("#job-counts").inner_text()
        assert "2,500" in final, final
        for text in [*seen, final]:
            assert not re.search(r"\d{4}", text), text  # "2500" / "1000": unformatted
    finally:
        s.context.close()


def test_the_channel_hint_follows_the_utm_source(session: Session) -> None:
    page = session.page
    session.sign_in()
    session.go(f"/app/w/{SLUG}/links/new")
    page.get_by_label("Product URL").fill("https://shop.example.com/item/hint")
    page.get_by_label("Channel preset").select_option("facebook")
    expect(page.locator("#f-channel")).to_have_value("facebook")
    expect(page.locator("#channel-hint")).to_be_hidden()
    page.get_by_label("UTM source").fill("tiktok")
    hint = page.locator("#channel-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("“tiktok”")
    page.locator("#channel-apply").click()
    expect(page.locator("#f-channel")).to_have_value("tiktok")
    expect(hint).to_be_hidden()
    page.get_by_label("UTM source").fill("newsletter")  # the e-mail preset's source
    expect(hint).to_contain_text("“email”")
    page.get_by_label("UTM source").fill("someone-else")
    expect(hint).to_be_hidden()
    assert session.csp_violations() == []
