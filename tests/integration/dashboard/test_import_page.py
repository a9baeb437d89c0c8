"""The import page: a dry run that writes nothing, the real run, a second run, zh_CN."""

from __future__ import annotations

from pathlib import Path

from dashboard_harness import Dash

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"


async def test_import_page_dry_run_then_import(dash: Dash) -> None:
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}"
    page = await b.get(f"{base}/import")
    assert page.status_code == 200 and "Import links from another shortener" in page.text
    upload = {"file": ("bitly.csv", (FIXTURES / "bitly.csv").read_bytes(), "text/csv")}
    dry = await b.post(f"{base}/import", {"source": "bitly"}, files=upload)
    assert dry.status_code == 200, dry.text[-2000:]
    assert "Dry run: nothing was written" in dry.text
    assert 'data-action="create">4<' in dry.text and 'data-action="refused">2<' in dry.text
    assert 'data-action="duplicate">1<' in dry.text
    assert "/red</td><td>New code</td>" in dry.text  # not the workspace's domain: a new code
    assert "got &#39;javascript:&#39;" in dry.text  # the refused URL, escaped
    assert "Red shoes" not in (await b.get(f"{base}/links")).text

    done = await b.post(f"{base}/import", {"source": "bitly", "apply": "1"}, files=upload)
    assert "Imported" in done.text and 'data-action="create">4<' in done.text
    assert "Red shoes 红色鞋子" in (await b.get(f"{base}/links")).text
    again = await b.post(f"{base}/import", {"source": "bitly", "apply": "1"}, files=upload)
    assert 'data-action="unchanged">4<' in again.text and 'data-action="create">0<' in again.text

    missing = await b.post(f"{base}/import", {"source": "bitly"})
    assert missing.status_code == 422 and "Choose the exported file." in missing.text
    wrong = await b.post(f"{base}/import", {"source": "myspace"}, files=upload)
    assert wrong.status_code == 422

    await b.post("/app/lang", {"lang": "zh_CN", "next": f"{base}/import"})
    zh = await b.get(f"{base}/import")
    assert "从其他短链服务导入链接" in zh.text


async def test_viewers_cannot_import(dash: Dash) -> None:
    from hoplink.workspaces.models import Role

    ws = await dash.workspace("Shop")
    viewer, _ = await dash.signed_in(ws=ws, role=Role.VIEWER)
    upload = {"file": ("bitly.csv", (FIXTURES / "bitly.csv").read_bytes(), "text/csv")}
    r = await viewer.post(f"/app/w/{ws.slug}/import", {"source": "bitly"}, files=upload)
    assert r.status_code == 403


async def test_refusal_reasons_are_in_the_readers_language(dash: Dash) -> None:
    """In zh_CN the report's reasons were the service's English ("url: only http and https
    links are allowed …"); they are the translated words for the refusal's code."""
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}"
    await b.post("/app/lang", {"lang": "zh_CN", "next": f"{base}/import"})
    upload = {"file": ("bitly.csv", (FIXTURES / "bitly.csv").read_bytes(), "text/csv")}
    dry = await b.post(f"{base}/import", {"source": "bitly"}, files=upload)
    assert dry.status_code == 200, dry.text[-2000:]
    # The table (the mapping CSV below it is data, as from the API: English is fine there).
    table = dry.text[dry.text.index("<table") : dry.text.index("</table>")]
    assert "only http and https" not in table and "an earlier row" not in table
    assert "只允许 http:// 和 https:// 链接。" in table, table
    # English readers keep the service's own specific words.
    await b.post("/app/lang", {"lang": "en", "next": f"{base}/import"})
    en = await b.post(f"{base}/import", {"source": "bitly"}, files=upload)
    assert "got &#39;javascript:&#39;" in en.text
