"""Property tests of hoplink.links.urls: idempotent canonical form, UTM round trip, no smuggling."""

from __future__ import annotations

from urllib.parse import urlsplit

import idna
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hoplink.errors import InvalidInput
from hoplink.links.urls import (
    UTM_FIELDS,
    build_final_url,
    canonicalize_destination,
    clean_utm_value,
    query_params,
)

FAST = settings(deadline=None, max_examples=100)

# Characters a user may legitimately type into a path/query/fragment (anything visible).
VISIBLE = st.characters(
    exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Zs"), exclude_characters="\\"
)
FORBIDDEN = st.one_of(
    st.characters(categories=("Cc", "Cf", "Zl", "Zp")),
    st.sampled_from(
        [
            *("\x00", "\t", "\n", "\r", "\x7f", "\x85", "\u200b", "\u200d", "\u200f"),
            *("\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff", "\ud800"),
        ]
    ),
)
LABEL = st.from_regex(r"[A-Za-z0-9]{1,12}(-[A-Za-z0-9]{1,6})?", fullmatch=True)
ASCII_HOST = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(LABEL, min_size=1, max_size=3),
    st.sampled_from(["com", "co.jp", "Example", "xn--zckzah", "shop"]),
)
IDN_HOST = st.sampled_from(
    ["例え.テスト", "Bücher.example", "faß.de", "пример.рф", "ドメイン.テスト", "münchen.DE"]
)


@st.composite
def plausible_urls(draw: st.DrawFn) -> tuple[str, str, str]:
    """(url, expected scheme, expected ASCII host)."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "HtTpS"]))
    host = draw(st.one_of(ASCII_HOST, IDN_HOST))
    port = draw(st.none() | st.integers(1, 65535))
    path = "/" + "/".join(draw(st.lists(st.text(VISIBLE.filter(lambda c: c not in "?#")))))
    url = f"{scheme}://{host}{'' if port is None else f':{port}'}{path}"
    if draw(st.booleans()):
        url += "?" + draw(st.text(VISIBLE.filter(lambda c: c != "#"), max_size=40))
    if draw(st.booleans()):
        url += "#" + draw(st.text(VISIBLE, max_size=20))
    return url, scheme.lower(), idna.encode(host, uts46=True).decode("ascii")


def assert_canonical(canonical: str) -> None:
    assert all(0x21 <= ord(char) <= 0x7E for char in canonical), canonical
    assert canonicalize_destination(canonical) == canonical
    parts = urlsplit(canonical)
    assert parts.scheme in ("http", "https")
    assert parts.hostname
    assert canonical.startswith(f"{parts.scheme}://{parts.netloc}/")


@FAST
@given(plausible_urls())
def test_plausible_urls_canonicalise_idempotently(case: tuple[str, str, str]) -> None:
    url, scheme, host = case
    canonical = canonicalize_destination(url)
    assert_canonical(canonical)
    parts = urlsplit(canonical)
    assert (parts.scheme, parts.hostname) == (scheme, host)


@FAST
@given(
    st.one_of(
        st.text(),
        st.builds(lambda s: "https://" + s, st.text()),
        st.builds(
            lambda sep, s: "http://a.b" + sep + s,
            st.sampled_from(["", "/", "?", "#", ":8080/", "./"]),
            st.text(st.sampled_from(list("/?#%:@[]{}<>^`|\"' +&=.-_~aZ09例€😀")) | VISIBLE),
        ),
    )
)
def test_any_accepted_text_canonicalises_idempotently(raw: str) -> None:
    try:
        canonical = canonicalize_destination(raw)
    except InvalidInput as exc:
        assert exc.errors[0].field == "url"
        return
    assert_canonical(canonical)


@FAST
@given(
    plausible_urls(),
    st.fixed_dictionaries({name: st.none() | st.text(max_size=210) for name in UTM_FIELDS}),
)
def test_utm_values_round_trip_after_the_destinations_own_params(
    case: tuple[str, str, str], utm: dict[str, str | None]
) -> None:
    destination = canonicalize_destination(case[0])
    original = query_params(destination)
    assume(not any(n.startswith("utm_") or n == "hl_click" for n, _ in original))
    try:
        cleaned = {name: clean_utm_value(name, value) for name, value in utm.items()}
    except InvalidInput as exc:
        assert exc.errors[0].code in ("control_character", "too_long")
        return
    final = build_final_url(destination, utm=utm, bound={})
    expected_tail = [(name, cleaned[name]) for name in UTM_FIELDS if cleaned[name] is not None]
    assert query_params(final) == original + expected_tail
    assert final.partition("#")[2] == destination.partition("#")[2]


@FAST
@given(plausible_urls(), st.text(VISIBLE | st.just(" "), min_size=1, max_size=50))
def test_bound_values_round_trip_and_replace(case: tuple[str, str, str], value: str) -> None:
    destination = canonicalize_destination(case[0])
    original = query_params(destination)
    assume(not any(n == "hl_click" for n, _ in original))
    params = query_params(build_final_url(destination, utm={}, bound={"aff": value}))
    assert [v for n, v in params if n == "aff"] == [value]
    assert [p for p in params if p[0] != "aff"] == [p for p in original if p[0] != "aff"]


@FAST
@given(plausible_urls(), FORBIDDEN, st.data())
def test_any_control_character_anywhere_is_rejected(
    case: tuple[str, str, str], char: str, data: st.DataObject
) -> None:
    url = case[0]
    index = data.draw(st.integers(0, len(url)))
    try:
        canonicalize_destination(url[:index] + char + url[index:])
    except InvalidInput as exc:
        assert exc.errors[0].code == "control_character"
    else:
        raise AssertionError(f"accepted {char!r} at {index}")
