"""How the Redis link tier stores a Target: every dataclass field, whatever the fields are."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from hoplink.links.plan import compile_plan
from hoplink.redirect.shared_cache import decode_target, encode_target
from hoplink.storage.redirects import Target

# Process-local: the compiled routing plan is made by each node from ``routing``.
LOCAL = {"plan"}


def sample() -> Target:
    values: dict[str, object] = {}
    for n, f in enumerate(dataclasses.fields(Target)):
        if f.name not in LOCAL:
            values[f.name] = {"bool": n % 2 == 0, "str": f"v{n}-é/?&"}.get(str(f.type), f"v{n}")
    return Target(**values)  # type: ignore[arg-type]


def test_every_field_round_trips() -> None:
    target = sample()
    raw = encode_target(target)
    assert decode_target(raw) == target
    assert set(orjson.loads(raw)) == {f.name for f in dataclasses.fields(Target)} - LOCAL


def test_the_compiled_plan_is_not_stored_only_the_routing_json() -> None:
    routing = orjson.dumps(
        {
            "rules": [
                {
                    "id": "rul_1",
                    "name": None,
                    "match": "all",
                    "conditions": [{"type": "os", "values": ["ios"]}],
                    "action": {"type": "url", "url": "https://shop.example.com/i"},
                }
            ]
        }
    ).decode()
    target = dataclasses.replace(sample(), routing=routing, plan=compile_plan(routing))
    assert target.plan is not None
    decoded = decode_target(encode_target(target))
    assert decoded is not None and decoded.plan is None and decoded.routing == routing


def test_not_found_marker() -> None:
    assert decode_target(encode_target(None)) is None


def test_an_entry_of_another_shape_is_refused() -> None:
    fields = orjson.loads(encode_target(sample()))
    fields.pop(next(iter(fields)))
    with pytest.raises(TypeError):
        decode_target(orjson.dumps(fields))
    with pytest.raises(ValueError):
        decode_target(b"{not json")
