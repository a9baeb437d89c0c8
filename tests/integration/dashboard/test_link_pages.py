"""Creating, previewing, editing, archiving, deleting and exporting links through the pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from dashboard_harness import Dash

from hoplink.workspaces.models import Role


async def test_create_with_preset_then_edit_archive_and_delete(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    base = f"/app/w/{ws.slug}"
    form = {
        "url": "https://shop.example.com/item/9?sku=1",
        "preset": "tiktok_ads",
        "utm_campaign": "双11 大促",
        "tags": "q4\uff0cshoes",  # a Chinese keyboard's full-width comma separates too
        "title": "Sneakers",
    }
    preview = await b.post(f"{base}/links/preview", form)
    expected = (
        "https://shop.example.com/item/9?sku=1&utm_source=tiktok&utm_medium=paid_social"
        "&utm_campaign=%E5%8F%8C11%20%E5%A4%A7%E4%BF%83"
    )
    assert preview.json()["final_url"] == expected
    nojs = await b.post(f"{base}/links", {**form, "action": "preview"})
    assert nojs.status_code == 200 and expected.replace("&", "&amp;") in nojs.text
    created = await b.post(f"{base}/links", form)
    assert created.status_code == 303
    detail_path = created.headers["location"]
    assert detail_path.endswith("?created=1")
    detail = await b.get(detail_path)
    assert expected.replace("&", "&amp;") in detail.text and "paid_social" in detail.text
    assert ">q4</a>" in detail.text and ">shoes</a>" in detail.text
    link_path = detail_path.split("?")[0]
    svg = await b.get(f"{link_path}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and svg.content.startswith(b"<svg")
    png = await b.get(f"{link_path}/qr.png?download=1")
    assert png.content.startswith(b"\x89PNG") and "attachment" in png.headers["content-disposition"]

    edited = await b.post(
        f"{link_path}/edit",
        {"url": "https://shop.example.com/item/10", "utm_source": "tiktok", "title": "Boots"},
    )
    assert edited.status_code == 303
    page = await b.get(link_path)
    assert "https://shop.example.com/item/9?sku=1" in page.text  # history: the old value
    assert "Boots" in page.text and "Sneakers" in page.text
    assert "member-" in page.text or "@example.com" in page.text  # who changed it

    assert (await b.post(f"{link_path}/archive", {"archived": "1"})).status_code == 303
    active = await b.get(f"{base}/links")
    assert "Boots" not in active.text
    archived = await b.get(f"{base}/links?archived=archived")
    assert "Boots" in archived.text
    async with dash.db.transaction() as tx:
        link = await tx.links(ws.id).get(link_path.rsplit("/", 1)[1])
    assert link is not None
    code = link.code  # archived, the short URL still redirects
    assert (await dash.browser().http.get(f"/{code}")).status_code == 302

    # Turning off is confirmed; the visitor then gets the page, and it can be turned back on.
    detail = await b.get(link_path)
    assert f'href="{link_path}/disable"' in detail.text
    confirm = await b.get(f"{link_path}/disable")
    assert confirm.status_code == 200 and "Keep it on" in confirm.text
    assert (await b.post(f"{link_path}/disable", {"disabled": "1"})).status_code == 303
    assert "Turned off" in (await b.get(link_path)).text
    visitor = await dash.browser().http.get(f"/{code}", headers={"accept-language": "zh-CN"})
    assert visitor.status_code == 404 and "链接已停用" in visitor.text
    assert (await b.post(f"{link_path}/disable", {"disabled": "0"})).status_code == 303
    assert (await dash.browser().http.get(f"/{code}")).status_code == 302

    confirm = await b.get(f"{link_path}/delete")
    assert confirm.status_code == 200 and "Delete for good" in confirm.text
    assert (await b.post(f"{link_path}/delete")).status_code == 303
    assert (await b.get(link_path)).status_code == 404


async def test_field_errors_are_shown_next_to_their_fields(dash: Dash) -> None:
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}"
    bad = {
        "url": "shop.example.com/x",
        "utm_source": "face\tbook",
        "code": "api",
        "channel": "myspace",
    }
    response = await b.post(f"{base}/links", bad)
    assert response.status_code == 422
    html = response.text
    for field in ("url", "utm_source", "code", "channel"):
        assert f'id="err-{field}" data-for="{field}">' in html, field
    assert "add https:// in front" in html
    assert "reserved" in html
    assert 'value="shop.example.com/x"' in html  # the form keeps what was typed
    preview = (await b.post(f"{base}/links/preview", bad)).json()
    assert preview["final_url"] is None
    assert set(preview["errors"]) == {"url", "utm_source", "code", "channel"}
    taken = await dash.link(ws, code="spring")
    clash = await b.post(f"{base}/links/preview", {"url": "https://a.test/", "code": taken.code})
    assert "already taken" in clash.json()["errors"]["code"][0]


async def test_the_list_filters_sorts_pages_and_exports(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.VIEWER)
    base = f"/app/w/{ws.slug}"
    for i in range(30):
        await dash.link(
            ws,
            url=f"https://shop.example.com/item/{i}",
            title=f"Item {i:02d}",
            tags=["even" if i % 2 == 0 else "odd"],
            channel="tiktok" if i < 5 else None,
            utm={"utm_source": '=HYPERLINK("http://evil.test")'} if i == 3 else {},
        )
    page = await b.get(f"{base}/links?tag=odd&sort=title&per_page=25")
    assert page.text.count('class="title"') == 15
    assert page.text.index("Item 01") < page.text.index("Item 03")
    tiktok = await b.get(f"{base}/links?channel=tiktok")
    assert tiktok.text.count('class="title"') == 5
    first = await b.get(f"{base}/links?per_page=25")
    assert "Page 1 of 2" in first.text and "page=2" in first.text
    search = await b.get(f"{base}/links?q=item%2029")
    assert search.text.count('class="title"') == 1
    export = await b.get(f"{base}/links.csv?tag=odd")
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert len(rows) == 15 and rows[0]["short_url"].startswith("http://hop.test/")
    everything = list(csv.DictReader(io.StringIO((await b.get(f"{base}/links.csv")).text[1:])))
    formula = next(r for r in everything if r["title"] == "Item 03")
    assert formula["utm_source"].startswith("'=")  # CSV injection defused


async def test_expired_and_scheduled_links_are_marked(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    now = datetime.now(UTC)
    ended = await dash.link(
        ws, title="Ended", ends_at=now - timedelta(hours=1), expiry_url="https://shop.example.com/x"
    )
    later = await dash.link(ws, title="Later", starts_at=now + timedelta(days=1))
    live = await dash.link(ws, title="Live", ends_at=now + timedelta(days=1))
    listing = (await b.get(f"/app/w/{ws.slug}/links")).text
    for link, badge in ((ended, "Expired"), (later, "Scheduled")):
        row = listing[listing.index(f"/links/{link.id}") :].split("</tr>")[0]
        assert f">{badge}</small>" in row
    live_row = listing[listing.index(f"/links/{live.id}") :].split("</tr>")[0]
    assert "badge" not in live_row
    detail = (await b.get(f"/app/w/{ws.slug}/links/{ended.id}")).text
    assert "visitors are sent to https://shop.example.com/x" in detail
    b.http.cookies.set("hoplink_lang", "zh_CN")
    detail = (await b.get(f"/app/w/{ws.slug}/links/{later.id}")).text
    assert "未开始" in detail and "此链接将于" in detail


async def test_change_history_names_fields_by_their_labels(dash: Dash) -> None:
    """Issue 14: "Product URL", "Archived: No → Yes", the campaign's name; never the column
    names (destination_url, campaign_id) or raw values (true, cmp_…)."""
    from hoplink.links.campaigns import create_campaign

    b, ws = await dash.signed_in(Role.MEMBER)
    async with dash.db.transaction() as tx:
        spring = await create_campaign(tx, workspace_id=ws.id, name="Spring sale")
    link = await dash.link(ws, title="Shoes")
    path = f"/app/w/{ws.slug}/links/{link.id}"
    form = {"url": "https://shop.example.com/item/2", "title": "Shoes", "campaign_id": spring.id}
    assert (await b.post(f"{path}/edit", form)).status_code == 303
    assert (await b.post(f"{path}/archive", {"archived": "1"})).status_code == 303
    page = await b.get(path)
    history = page.text[page.text.index('id="history-title"') :]
    for label in ("Product URL", "Campaign", "Archived", "Spring sale", "Yes", "No"):
        assert f">{label}<" in history, label
    for raw in ("destination_url", "campaign_id", ">archived<", ">true<", spring.id):
        assert raw not in history, raw
    zh = await b.get(path, headers={"Accept-Language": "zh-CN"})
    history = zh.text[zh.text.index('id="history-title"') :]
    assert ">商品链接<" in history and ">已归档<" in history and ">是<" in history


async def test_the_edit_form_has_no_back_half_and_a_tampered_one_changes_nothing(
    dash: Dash,
) -> None:
    """Codes never change: the edit form does not show the back-half, and a POST that adds
    one edits the rest and leaves the code (no field of the form is shown but locked)."""
    b, ws = await dash.signed_in(Role.MEMBER)
    link = await dash.link(ws, title="Shoes")
    path = f"/app/w/{ws.slug}/links/{link.id}"
    assert 'name="code"' not in (await b.get(f"{path}/edit")).text
    form = {"url": link.destination_url, "title": "Boots", "code": "tampered"}
    assert (await b.post(f"{path}/edit", form)).status_code == 303
    async with dash.db.transaction(write=False) as tx:
        edited = await tx.links(ws.id).get(link.id)
    assert edited is not None and (edited.code, edited.title) == (link.code, "Boots")
    visitor = dash.browser().http
    assert (await visitor.get(f"/{link.code}")).status_code == 302
    assert (await visitor.get("/tampered")).status_code == 404


async def test_the_preview_names_the_channel_a_changed_utm_source_points_to(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    base = f"/app/w/{ws.slug}"
    form = {"url": "https://shop.example.com/h", "channel": "facebook", "utm_source": "tiktok"}
    assert (await b.post(f"{base}/links/preview", form)).json()["channel_hint"] == "tiktok"
    same = {**form, "utm_source": "facebook"}
    assert (await b.post(f"{base}/links/preview", same)).json()["channel_hint"] is None
    # Without script: the form shown again carries the same hint, in the reader's language.
    nojs = await b.post(
        f"{base}/links", {**form, "action": "preview"}, headers={"Accept-Language": "zh-CN"}
    )
    assert 'id="channel-hint"' in nojs.text and "“tiktok”" in nojs.text
    assert 'id="channel-hint" role="status" data-template' in nojs.text
