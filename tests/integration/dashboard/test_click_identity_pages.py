"""Issue 10 in the dashboard: the click-id settings, the link's ad click id switch, and the
utm_content / utm_term breakdowns, in English and Chinese."""

from __future__ import annotations

import time

from dashboard_harness import Dash
from markupsafe import escape

from clickids import split_click_id
from hoplink.clicks.models import Click
from hoplink.ingest.worker import Worker
from hoplink.workspaces.models import Role

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
SETTINGS = {"name": "Acme Store", "timezone": "UTC", "click_id_enabled": "on"}


async def test_the_click_id_parameter_is_set_checked_and_turned_off(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.ADMIN)
    base = f"/app/w/{ws.slug}/settings"
    link = await dash.link(ws)
    page = await b.get(base)
    assert "Leave empty for the default, hl_click." in page.text
    zh = await b.get(base, headers=ZH)
    assert "点击 ID 参数名" in zh.text and "留空则使用默认值 hl_click。" in zh.text

    saved = await b.post(f"{base}/workspace", {**SETTINGS, "click_id_param": "ref_click"})
    assert saved.status_code == 303
    assert 'value="ref_click"' in (await b.get(base)).text
    # Saving cleared this node's redirect cache: the next redirect uses the new name.
    r = await b.http.get(f"/{link.code}")
    assert split_click_id(r.headers["location"], "ref_click")[0] == link.final_url

    bad = await b.post(f"{base}/workspace", {**SETTINGS, "click_id_param": "utm_click"})
    assert bad.status_code == 422 and 'id="err-click_id_param"' in bad.text
    assert str(escape("must not be a UTM field or an ad platform's click id")) in bad.text
    bad = await b.post(f"{base}/workspace", {**SETTINGS, "click_id_param": "a b"})
    assert bad.status_code == 422 and 'id="err-click_id_param"' in bad.text

    off = {k: v for k, v in SETTINGS.items() if k != "click_id_enabled"}
    assert (await b.post(f"{base}/workspace", off)).status_code == 303
    async with dash.db.transaction(write=False) as tx:
        stored = await tx.workspaces.get(ws.id)
    assert stored is not None
    assert (stored.click_id_enabled, stored.click_id_param) == (False, None)
    assert (await b.http.get(f"/{link.code}")).headers["location"] == link.final_url


async def test_a_link_passes_ad_click_ids_when_the_box_is_ticked(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    base = f"/app/w/{ws.slug}/links"
    form = {"url": "https://shop.example.com/item/9", "pass_ad_click_ids": "on"}
    zh = await b.get(f"{base}/new", headers=ZH)
    assert "将广告点击 ID（fbclid、gclid、ttclid 等）传递到商品页" in zh.text  # noqa: RUF001
    created = await b.post(base, form)
    assert created.status_code == 303
    link_path = created.headers["location"].split("?")[0]
    edit = await b.get(f"{link_path}/edit")
    assert 'name="pass_ad_click_ids" type="checkbox" checked' in edit.text
    async with dash.db.transaction(write=False) as tx:
        link = await tx.links(ws.id).get(link_path.rsplit("/", 1)[1])
    assert link is not None and link.pass_ad_click_ids
    r = await b.http.get(f"/{link.code}?fbclid=IwAR.1&color=red")
    assert split_click_id(r.headers["location"])[0] == f"{link.final_url}?fbclid=IwAR.1"
    assert (await b.post(f"{link_path}/edit", {"url": form["url"]})).status_code == 303
    edit = await b.get(f"{link_path}/edit")
    assert 'name="pass_ad_click_ids" type="checkbox">' in edit.text


async def test_ad_group_and_ad_breakdowns_on_the_analytics_page(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.VIEWER)
    link = await dash.link(ws, utm={"utm_content": "双11 广告组 A", "utm_term": "<b>ad-7</b>"})
    plain = await dash.link(ws, url="https://shop.example.com/2")
    now = time.time() - 30
    clicks = [
        Click(f"c{i}", now, link.id, ws.id, "hop.test", "GET", "Mozilla/5.0 (iPhone)", "",
              "zh-CN", "CN", f"v{i}")
        for i in range(3)
    ]  # fmt: skip
    clicks.append(
        Click("p1", now, plain.id, ws.id, "hop.test", "GET", "Mozilla/5.0", "", "", "", "x")
    )
    await Worker(db=dash.db, source=None).process(clicks)  # type: ignore[arg-type]
    for scope in ("", f"&scope=link:{link.id}"):
        page = await b.get(f"/app/w/{ws.slug}/analytics?range=24h{scope}")
        assert "Ad groups (utm_content)" in page.text and "Ads (utm_term)" in page.text
        assert "双11 广告组 A" in page.text
        assert "&lt;b&gt;ad-7&lt;/b&gt;" in page.text and "<b>ad-7</b>" not in page.text
    zh = await b.get(f"/app/w/{ws.slug}/analytics?range=24h", headers=ZH)
    assert "广告组（utm_content）" in zh.text and "广告（utm_term）" in zh.text  # noqa: RUF001
