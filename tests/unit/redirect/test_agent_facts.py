"""What the redirect edge reads from a user agent and Accept-Language for routing rules."""

from __future__ import annotations

import pytest

from hoplink.redirect.rules import agent_facts, preferred_language
from inapp_agents import AGENTS


@pytest.mark.parametrize(("ua", "app", "os", "device"), AGENTS)
def test_in_app_browser_os_and_device_from_the_user_agent(
    ua: str, app: str | None, os: str, device: str
) -> None:
    assert agent_facts(ua) == (device, os, app)


def test_every_in_app_browser_of_the_issue_is_in_the_corpus() -> None:
    expected = {"facebook", "instagram", "messenger", "tiktok", "wechat", "line", "snapchat"}
    expected |= {"pinterest", "x"}
    assert {app for _, app, _, _ in AGENTS if app} == expected


def test_a_link_preview_bot_is_not_an_in_app_browser() -> None:
    assert agent_facts("Twitterbot/1.0")[2] is None
    assert agent_facts("facebookexternalhit/1.1")[2] is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-cn"),
        ("en;q=0.5, de-DE", "de-de"),
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr-ch"),
        ("ja;q=0.2,ko;q=0.9", "ko"),
        ("zh_TW", "zh-tw"),
        ("*", ""),
        ("", ""),
        ("en;q=abc,pt-BR;q=0.1", "pt-br"),
        ("xx-\x00,en", "en"),
    ],
)
def test_the_preferred_language(header: str, expected: str) -> None:
    assert preferred_language(header) == expected
