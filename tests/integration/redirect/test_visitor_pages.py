"""Issue 14 end to end: archive keeps redirecting, disable answers the visitor page in the
visitor's language with the workspace's fallback URL, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from edge_client import Edge, running_edge

from clickids import without_click_id
from hoplink.links import service
from hoplink.links.spec import LinkEdit
from hoplink.workspaces.edit import WorkspaceEdit
from hoplink.workspaces.service import update_workspace

PRODUCT = "https://shop.example.com/item/77"
ZH = {"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"accept-language": "en-GB,en;q=0.9"}


async def _change(edge: Edge, ws_id: str, link_id: str, change: LinkEdit) -> None:
    async with edge.db.transaction() as tx:
        ws = await tx.workspaces.get(ws_id)
        assert ws is not None
        await service.update_link(tx, workspace=ws, link_id=link_id, edit=change, actor="t")
    # The redirect cache drops the link when the transaction commits (a change event).


async def test_archived_redirects_disabled_shows_the_page_in_both_languages(edge: Edge) -> None:
    ws = await edge.workspace()
    async with edge.db.transaction() as tx:
        ws = await update_workspace(
            tx, workspace_id=ws.id, edit=WorkspaceEdit(fallback_url="https://shop.example.com/")
        )
    link = await edge.link(ws, PRODUCT)

    await _change(edge, ws.id, link.id, LinkEdit(archived=True))
    r = await edge.http.get(f"/{link.code}", headers=ZH)
    assert r.status_code == 302 and without_click_id(r.headers["location"]) == link.final_url

    await _change(edge, ws.id, link.id, LinkEdit(disabled=True))
    zh = await edge.http.get(f"/{link.code}", headers=ZH)
    assert zh.status_code == 404 and "location" not in zh.headers
    page = zh.text
    assert '<html lang="zh-CN">' in page and "链接已停用" in page and "前往店铺" in page
    assert 'href="https://shop.example.com/"' in page
    assert 'name="viewport" content="width=device-width' in page
    assert zh.headers["vary"] == "accept-language"
    assert zh.headers["cache-control"] == "no-store"
    assert "style-src 'sha256-" in zh.headers["content-security-policy"]
    assert "script-src" not in zh.headers["content-security-policy"]

    en = await edge.http.get(f"/{link.code}", headers=EN)
    assert en.status_code == 404
    assert '<html lang="en">' in en.text and "Link turned off" in en.text
    assert "Visit the shop" in en.text and "链接" not in en.text
    none = await edge.http.get(f"/{link.code}")
    assert '<html lang="en">' in none.text

    head = await edge.http.head(f"/{link.code}", headers=ZH)
    assert head.status_code == 404 and head.content == b""
    assert head.headers["content-length"] == str(len(zh.content))

    # Turned back on (and still archived): redirects again; only the two 302s were clicks.
    await _change(edge, ws.id, link.id, LinkEdit(disabled=False))
    assert (await edge.http.get(f"/{link.code}")).status_code == 302
    assert len(await edge.clicks()) == 2


async def test_unknown_and_banned_pages_are_translated_and_never_show_a_fallback(
    edge: Edge,
) -> None:
    zh = await edge.http.get("/NoSuchCd7", headers=ZH)
    assert zh.status_code == 404 and "链接不存在" in zh.text
    en = await edge.http.get("/NoSuchCd7", headers=EN)
    assert en.status_code == 404 and "Link not found" in en.text
    bad = await edge.http.get("/-bad", headers=ZH)
    assert bad.status_code == 404 and "链接不存在" in bad.text


async def test_an_operator_template_replaces_the_page(db_url: str, tmp_path: Path) -> None:
    template = tmp_path / "page.html"
    template.write_text(
        "<!doctype html><html lang={{ lang }}><p id=t>{{ title }}</p>"
        "<p id=f>{{ fallback_url or '' }}</p><p id=s>{{ status }}</p>",
        encoding="utf-8",
    )
    async with running_edge(db_url, tmp_path / "data", visitor_page_template=template) as edge:
        ws = await edge.workspace()
        async with edge.db.transaction() as tx:
            await update_workspace(
                tx,
                workspace_id=ws.id,
                edit=WorkspaceEdit(fallback_url="https://shop.example.com/<x>"),
            )
        link = await edge.link(ws, PRODUCT)
        await _change(edge, ws.id, link.id, LinkEdit(disabled=True))
        r = await edge.http.get(f"/{link.code}", headers=ZH)
        assert r.status_code == 404
        assert "<p id=t>链接已停用</p>" in r.text
        # Canonicalised when saved, and autoescaped anyway: no markup from the URL.
        assert "<p id=f>https://shop.example.com/%3Cx%3E</p>" in r.text
        assert "<p id=s>404</p>" in r.text
        assert "style-src" not in r.headers["content-security-policy"]
