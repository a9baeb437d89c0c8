"""Bulk creation: parsing, the job, its progress and its result CSV."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest
from dashboard_harness import Dash

from hoplink.dashboard.bulkcsv import COLUMNS, MAX_ROWS, UploadError, decode, parse


def test_pasted_lines_are_urls_even_with_commas() -> None:
    rows = parse("https://a.test/x?ids=1,2,3\n\n  https://b.test/  \n")
    assert [(r.line, r.values["url"]) for r in rows] == [
        (1, "https://a.test/x?ids=1,2,3"),
        (3, "https://b.test/"),
    ]


def test_a_csv_header_names_the_columns_and_lines_count_from_it() -> None:
    rows = parse('URL,UTM Source,tags\nhttps://a.test/,fb,"q4,sale"\n\nhttps://b.test/,,x|y\n')
    assert [r.line for r in rows] == [2, 4]
    assert rows[0].values["utm_source"] == "fb" and rows[0].values["tags"] == "q4,sale"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "nothing to import"),
        ("url,colour\nhttps://a.test/,red\n", "unknown column 'colour'"),
        ("url,title\nhttps://a.test/,a,b\n", "line 2: 3 values"),
        ("url\n", "no rows"),
        ("\n".join(f"https://a.test/{i}" for i in range(MAX_ROWS + 1)), "at most 10,000"),
    ],
)
def test_uploads_that_cannot_be_read_say_why(text: str, message: str) -> None:
    with pytest.raises(UploadError, match=message):
        parse(text)


def test_excel_encodings_are_read() -> None:
    assert decode("\ufeffurl\n".encode()) == "url\n"
    text = "url,title\nhttps://a.test/,双十一大促 运动鞋\n"
    assert decode(text.encode("gb18030")) == text


async def _finished(dash: Dash, b, location: str) -> str:  # type: ignore[no-untyped-def]
    for _ in range(200):
        progress = (await b.get(f"{location}/progress")).json()
        if progress["state"] != "running":
            break
        await asyncio.sleep(0.05)
    assert progress["state"] == "done", progress
    return (await b.get(location)).text


async def test_a_csv_upload_creates_links_and_reports_each_bad_row(dash: Dash) -> None:
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}"
    await b.post(f"{base}/campaigns", {"name": "Spring"})
    lines = ["url,utm_source,channel,campaign,tags,title,code"]
    for i in range(2100):
        lines.append(f"https://shop.example.com/item/{i},fb,facebook,Spring,bulk|q4,Item {i},")
    lines[500] = "javascript:alert(1),fb,,,,,"
    lines[1500] = "https://shop.example.com/ok,fb,,Autumn,,,"
    lines[2000] = "https://shop.example.com/ok2,fb,,,,,api"
    upload = ("\n".join(lines) + "\n").encode()
    started = await b.post(f"{base}/bulk", files={"file": ("links.csv", upload, "text/csv")})
    assert started.status_code == 303
    location = started.headers["location"]
    html = await _finished(dash, b, location)
    assert "2,097 created" in html and "3 with errors" in html
    result = await b.get(f"{location}/results.csv")
    rows = list(csv.DictReader(io.StringIO(result.text.lstrip("\ufeff"))))
    errors = [(r["line"], r["field"]) for r in rows if r["status"] == "error"]
    assert errors == [("501", "url"), ("1501", "campaign"), ("2001", "code")]
    assert sum(r["status"] == "created" for r in rows) == 2097
    listing = await b.get(f"{base}/links?tag=bulk&per_page=25")
    assert "2,097" in listing.text


async def test_pasted_text_and_refusals(dash: Dash) -> None:
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}"
    refused = await b.post(f"{base}/bulk", {"text": "url,colour\nhttps://a.test/,red"})
    assert refused.status_code == 422 and "unknown column" in refused.text
    started = await b.post(f"{base}/bulk", {"text": "https://a.test/1\nhttps://a.test/2"})
    html = await _finished(dash, b, started.headers["location"])
    assert "2 created" in html
    other, _ = await dash.signed_in(ws=await dash.workspace("Other"))
    job = started.headers["location"].rsplit("/", 1)[1]
    assert (await other.get(f"/app/w/{ws.slug}/bulk/{job}")).status_code == 404


async def test_the_csv_template_has_every_column_and_uploads_as_is(dash: Dash) -> None:
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}"
    page = await b.get(f"{base}/bulk")
    assert f'href="{base}/bulk/template.csv"' in page.text
    assert 'rel="icon" href="/app/static/favicon.svg"' in page.text
    assert (
        (await b.get("/app/static/favicon.svg")).headers["content-type"].startswith("image/svg+xml")
    )
    template = await b.get(f"{base}/bulk/template.csv")
    assert template.status_code == 200 and "attachment" in template.headers["content-disposition"]
    header, _example = template.text.lstrip("\ufeff").splitlines()
    assert header.split(",") == list(COLUMNS)
    # The example row is a valid upload as it is.
    started = await b.post(f"{base}/bulk", {"text": template.text})
    assert started.status_code == 303


async def test_results_outlive_a_restart_until_downloaded_or_a_day(dash: Dash) -> None:
    """Issue 14: the job page and its CSV answer after the process that ran the job is gone
    (another web node, a restart); 24 hours after the end, or an hour after the first
    download, they are gone."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from hoplink.dashboard.bulkjobs import BulkJobs
    from hoplink.ids import utcnow
    from hoplink.storage import tables as t

    b, ws = await dash.signed_in()
    text = "url,title\nhttps://shop.example.com/r/1,One\nftp://shop.example.com/r/2,Two\n"
    started = await b.post(f"/app/w/{ws.slug}/bulk", {"text": text})
    location = started.headers["location"]
    job_id = location.rsplit("/", 1)[1]
    await _finished(dash, b, location)
    # A new process: nothing in memory, only the database.
    dash.app.dashboard.jobs = BulkJobs()
    page = await b.get(location)
    assert page.status_code == 200 and "1 created" in page.text.replace("\xa0", " ")
    assert "only http and https" in page.text and "http://hop.test/" in page.text
    progress = (await b.get(f"{location}/progress")).json()
    assert progress == {"state": "done", "total": 2, "done": 2, "created": 1, "failed": 1}
    listed = await b.get(f"/app/w/{ws.slug}/bulk")
    assert location in listed.text
    jobs = t.bulk_jobs.c
    async with dash.db.transaction() as tx:
        row = (await tx.conn.execute(select(jobs.expires_at).where(jobs.id == job_id))).one()
    assert timedelta(hours=23) < row.expires_at - utcnow() <= timedelta(hours=24)

    first = await b.get(f"{location}/results.csv")
    assert first.status_code == 200 and first.text.count(",created,") == 1
    async with dash.db.transaction() as tx:
        row = (await tx.conn.execute(select(jobs.expires_at).where(jobs.id == job_id))).one()
    assert row.expires_at - utcnow() <= timedelta(hours=1)  # kept an hour for a second try
    again = await b.get(f"{location}/results.csv")
    assert again.text == first.text
    async with dash.db.transaction() as tx:
        past = utcnow() - timedelta(seconds=1)
        await tx.conn.execute(update(t.bulk_jobs).where(jobs.id == job_id).values(expires_at=past))
    assert (await b.get(location)).status_code == 404
    assert (await b.get(f"{location}/results.csv")).status_code == 404
    # The next upload sweeps it away.
    await b.post(f"/app/w/{ws.slug}/bulk", {"text": "https://shop.example.com/r/3"})
    async with dash.db.transaction() as tx:
        left = (await tx.conn.execute(select(jobs.id).where(jobs.id == job_id))).all()
    assert left == []


async def test_a_job_whose_process_stopped_says_so(dash: Dash) -> None:
    from datetime import timedelta

    from hoplink.ids import utcnow

    b, ws = await dash.signed_in()
    async with dash.db.transaction() as tx:
        await tx.bulk_jobs(ws.id).insert(
            id="stopped-job", total=5, at=utcnow() - timedelta(hours=1)
        )
    page = await b.get(f"/app/w/{ws.slug}/bulk/stopped-job")
    assert page.status_code == 200 and "Stopped before the end" in page.text
    assert (await b.get(f"/app/w/{ws.slug}/bulk/stopped-job/progress")).json()["state"] == "failed"
    other, _ = await dash.signed_in(ws=await dash.workspace("Other"))
    assert (await other.get(f"/app/w/{ws.slug}/bulk/stopped-job")).status_code == 404
