"""The click id on every Location, and the ad platforms' click ids (issue 10), through the
real app on SQLite and PostgreSQL: what the visitor is sent to and what is journaled."""

from __future__ import annotations

from pathlib import Path

from edge_client import Edge, running_edge

from clickids import split_click_id
from hoplink.workspaces.edit import WorkspaceEdit
from hoplink.workspaces.service import update_workspace

PRODUCT = "https://shop.example.com/item/1005006?sku=42#reviews"


async def test_the_location_carries_the_journaled_click_id_before_the_fragment(
    edge: Edge,
) -> None:
    ws = await edge.workspace(seller_id="S1", param_template={"aff": "{seller_id}"})
    link = await edge.link(ws, PRODUCT, utm={"utm_source": "tiktok"})
    locations = [(await edge.http.get(f"/{link.code}")).headers["location"] for _ in range(3)]
    clicks = await edge.clicks()
    assert [c.click_id for c in clicks] == [split_click_id(loc)[1] for loc in locations]
    assert len({c.click_id for c in clicks}) == 3
    assert link.final_url.endswith("&utm_source=tiktok#reviews")
    head = link.final_url.removesuffix("#reviews")
    assert locations[0] == f"{head}&hl_click={clicks[0].click_id}#reviews"
    bare = await edge.link(ws, "https://shop.example.com/p")
    location = (await edge.http.get(f"/{bare.code}")).headers["location"]
    assert location == f"{bare.final_url}&hl_click={(await edge.clicks())[0].click_id}"
    assert "?" in bare.final_url  # the template's aff=S1: the click id joins with "&"


async def test_a_workspace_renames_the_parameter_or_turns_it_off(edge: Edge) -> None:
    ws = await edge.workspace()
    link = await edge.link(ws, "https://shop.example.com/p/1")

    async def settings(edit: WorkspaceEdit) -> None:
        async with edge.db.transaction() as tx:
            await update_workspace(tx, workspace_id=ws.id, edit=edit)
        # No invalidation call: the change event clears the cache after commit.

    await settings(WorkspaceEdit(click_id_param="ref_click"))
    location = (await edge.http.get(f"/{link.code}")).headers["location"]
    assert split_click_id(location, "ref_click")[0] == link.final_url
    assert "hl_click" not in location
    await settings(WorkspaceEdit(click_id_enabled=False))
    assert (await edge.http.get(f"/{link.code}")).headers["location"] == link.final_url
    assert len(await edge.clicks()) == 2  # still counted, just not tagged
    await settings(WorkspaceEdit(click_id_enabled=True, click_id_param=""))  # back to the default
    location = (await edge.http.get(f"/{link.code}")).headers["location"]
    assert split_click_id(location)[0] == link.final_url


async def test_the_operator_default_name_and_a_stored_url_that_binds_it(
    db_url: str, tmp_path: Path
) -> None:
    async with running_edge(db_url, tmp_path / "data", click_id_param="cid") as edge:
        ws = await edge.workspace(seller_id="S1", param_template={"CID": "{seller_id}"})
        bound = await edge.link(ws, "https://shop.example.com/a")
        assert "CID=S1" in bound.final_url
        # The seller bound the name themselves: their value stays, and never twice.
        assert (await edge.http.get(f"/{bound.code}")).headers["location"] == bound.final_url
        plain_ws = await edge.workspace("Other Store")
        link = await edge.link(plain_ws, "https://shop.example.com/b", forward_query=True)
        r = await edge.http.get(f"/{link.code}?cid=FORGED&hl_click=x&color=red")
        # The visitor cannot send a click id of their own, under either name.
        rest, click_id = split_click_id(r.headers["location"], "cid")
        assert rest == f"{link.final_url}?color=red"  # hl_click stays reserved too
        assert click_id == (await edge.clicks())[-1].click_id


async def test_ad_click_ids_are_journaled_and_passed_on_only_when_the_link_asks(
    edge: Edge,
) -> None:
    ws = await edge.workspace(seller_id="S1", param_template={"aff": "{seller_id}"})
    passing = await edge.link(ws, "https://shop.example.com/p?sku=1", pass_ad_click_ids=True)
    plain = await edge.link(ws, "https://shop.example.com/q")
    query = "fbclid=IwAR0x-Y_z.1&gclid=bad%24value&SCCID=snap_1&aff=THIEF&utm_source=x"
    r = await edge.http.get(f"/{passing.code}?{query}")
    rest, click_id = split_click_id(r.headers["location"])
    assert rest == f"{passing.final_url}&fbclid=IwAR0x-Y_z.1&ScCid=snap_1"
    r = await edge.http.get(f"/{plain.code}?{query}")
    assert split_click_id(r.headers["location"])[0] == plain.final_url
    clicks = await edge.clicks()
    assert clicks[0].click_id == click_id
    expected = {"fbclid": "IwAR0x-Y_z.1", "ScCid": "snap_1"}
    assert [c.ad_click_ids for c in clicks] == [expected, expected]
    assert edge.app.redirect.capture.ad_ids.snapshot() == {"bad_charset": 2}
    # No ad click id: nothing extra in the record.
    await edge.http.get(f"/{plain.code}?color=red")
    assert (await edge.clicks())[0].ad_click_ids is None


async def test_a_bound_ad_click_id_is_never_overridden(edge: Edge) -> None:
    ws = await edge.workspace()
    link = await edge.link(ws, "https://shop.example.com/p?gclid=SELLER", pass_ad_click_ids=True)
    r = await edge.http.get(f"/{link.code}?gclid=VISITOR&ttclid=E.1")
    assert split_click_id(r.headers["location"])[0] == f"{link.final_url}&ttclid=E.1"
    assert (await edge.clicks())[0].ad_click_ids == {"gclid": "VISITOR", "ttclid": "E.1"}
