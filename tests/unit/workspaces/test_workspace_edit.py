"""A workspace settings edit as a value: what ``check_edit`` keeps, clears, normalises and
refuses (field by field, every error at once), and how a checked update applies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from hoplink.errors import InvalidInput
from hoplink.unset import UNSET
from hoplink.workspaces.edit import (
    MAX_CUSTOM_CHANNELS,
    WorkspaceEdit,
    WorkspaceUpdate,
    check_edit,
    edit_errors,
)
from hoplink.workspaces.models import Workspace, WorkspaceStatus

WS = Workspace(
    id="ws_1",
    slug="acme",
    name="Acme",
    seller_id="S1",
    timezone="Asia/Shanghai",
    status=WorkspaceStatus.VERIFIED,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    param_template={"aff": "{seller_id}"},
    custom_channels=["line"],
    click_id_param="ref",
    fallback_url="https://acme.example/",
    links_per_day=10,
    short_domain_limit=2,
)


def _codes(edit: WorkspaceEdit) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        check_edit(edit)
    return [(e.field, e.code) for e in caught.value.errors]


def test_an_empty_edit_changes_nothing() -> None:
    update = check_edit(WorkspaceEdit())
    assert update == WorkspaceUpdate()
    assert update.empty
    assert update.applied_to(WS) == WS


def test_values_are_normalised() -> None:
    update = check_edit(
        WorkspaceEdit(
            name="  Acme 店 ",
            seller_id="S-2",
            timezone="UTC",
            param_template={"aff": "{channel}"},
            custom_channels=[" Zalo", "zalo", "facebook", "line_2"],
            click_id_enabled=False,
            click_id_param=" cid ",
            fallback_url=" https://Shop.Example.com ",
        )
    )
    assert update == WorkspaceUpdate(
        name="Acme 店",
        seller_id="S-2",
        timezone="UTC",
        param_template={"aff": "{channel}"},
        custom_channels=("zalo", "line_2"),  # lowercased, once, built-in ones dropped
        click_id_enabled=False,
        click_id_param="cid",
        fallback_url="https://shop.example.com/",
    )
    assert not update.empty


@pytest.mark.parametrize("cleared", [None, ""])
def test_none_or_an_empty_text_clears_what_may_be_cleared(cleared: str | None) -> None:
    update = check_edit(
        WorkspaceEdit(seller_id=cleared, click_id_param=cleared, fallback_url=cleared)
    )
    assert (update.seller_id, update.click_id_param, update.fallback_url) == (None, None, None)
    after = update.applied_to(WS)
    assert (after.seller_id, after.click_id_param, after.fallback_url) == (None, None, None)
    assert after.name == WS.name and after.param_template == WS.param_template


def test_blank_click_id_names_and_fallbacks_clear_but_a_blank_seller_id_is_refused() -> None:
    update = check_edit(WorkspaceEdit(click_id_param="  ", fallback_url=" \t"))
    assert (update.click_id_param, update.fallback_url) == (None, None)
    assert _codes(WorkspaceEdit(seller_id="  ")) == [("seller_id", "invalid")]


def test_empty_collections_clear_the_template_and_the_channels() -> None:
    update = check_edit(WorkspaceEdit(param_template={}, custom_channels=()))
    assert (update.param_template, update.custom_channels) == ({}, ())
    after = update.applied_to(WS)
    assert (after.param_template, after.custom_channels) == ({}, [])


def test_every_wrong_field_is_named_in_field_order() -> None:
    edit = WorkspaceEdit(
        name="\x00",
        seller_id="has space",
        timezone="Mars/Olympus",
        param_template={"bad name": "x"},
        custom_channels=["ok", "Not OK!"],
        click_id_param="a b",
        fallback_url="ftp://shop.example.com/",
    )
    assert _codes(edit) == [
        ("name", "invalid"),
        ("seller_id", "invalid"),
        ("timezone", "unknown_timezone"),
        ("param_template.bad name", "invalid_name"),
        ("custom_channels.1", "invalid"),
        ("click_id_param", "invalid_name"),
        ("fallback_url", "unsupported_scheme"),
    ]


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "tab\there"])
def test_a_name_is_1_to_200_printable_characters(name: str) -> None:
    assert _codes(WorkspaceEdit(name=name)) == [("name", "invalid")]
    assert check_edit(WorkspaceEdit(name="x" * 200)).name == "x" * 200


def test_the_timezone_message_names_the_zone() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_edit(WorkspaceEdit(timezone="Asia/Nowhere"))
    assert caught.value.errors[0].message == (
        "'Asia/Nowhere' is not an IANA time zone such as 'Asia/Shanghai' or 'UTC'"
    )


def test_at_most_the_limit_of_custom_channels() -> None:
    many = [f"c{i}" for i in range(MAX_CUSTOM_CHANNELS + 1)]
    assert _codes(WorkspaceEdit(custom_channels=many)) == [("custom_channels", "too_many")]
    # Duplicates and built-in channels do not count.
    allowed = [*many[:MAX_CUSTOM_CHANNELS], "C0", "tiktok"]
    update = check_edit(WorkspaceEdit(custom_channels=allowed))
    assert update.custom_channels == tuple(many[:MAX_CUSTOM_CHANNELS])


def test_edit_errors_hands_back_the_errors_and_the_update_of_the_rest() -> None:
    errors, update = edit_errors(WorkspaceEdit(name="New", timezone="Nowhere"))
    assert [(e.field, e.code) for e in errors] == [("timezone", "unknown_timezone")]
    assert update.name == "New"
    errors.append(errors[0])  # the caller's own list: create_workspace adds the slug's
    assert len(edit_errors(WorkspaceEdit(timezone="Nowhere"))[0]) == 1


def test_an_update_applies_the_operators_fields_too_and_keeps_the_rest() -> None:
    update = WorkspaceUpdate(
        status=WorkspaceStatus.SUSPENDED,
        status_reason="spam",
        status_before_suspension=WorkspaceStatus.VERIFIED,
        links_per_day=None,
        links_per_month=500,
        short_domain_limit=None,
        short_domains_approved=True,
    )
    after = update.applied_to(WS)
    for field in dataclasses.fields(Workspace):
        value = getattr(update, field.name, UNSET)
        wanted = getattr(WS, field.name) if value is UNSET else value
        assert getattr(after, field.name) == wanted, field.name
    assert after.links_per_day is None and after.status is WorkspaceStatus.SUSPENDED


def test_edits_and_updates_are_frozen_and_keyword_only() -> None:
    edit = WorkspaceEdit(name="A")
    with pytest.raises(dataclasses.FrozenInstanceError):
        edit.name = "B"  # type: ignore[misc]
    with pytest.raises(TypeError):
        WorkspaceUpdate("A")  # type: ignore[misc]
    assert repr(WorkspaceEdit()).count("UNSET") == len(dataclasses.fields(WorkspaceEdit))
