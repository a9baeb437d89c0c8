"""Schemathesis against the Shlink-compatible API's own OpenAPI document (/rest/v3).

The same set-up as test_schemathesis.py (a real uvicorn child, a key with every scope,
a few tagged links), with the key in Shlink's ``X-Api-Key`` header. No case may get a
server error, and every answer must match the document (status, content type, body).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

# (browser_server, on the path test_schemathesis adds: the server both tests run)
from security.test_schemathesis import (
    EXCLUDED,
    MODES,
    Server,
    _seed,
    run_async,
    running_server,
)

MAX_EXAMPLES = 25
# Per operation, checks left out on purpose (the reason beside each):
ALSO_EXCLUDED = {
    # Shlink answers 501 mercure-not-configured when it has no Mercure hub, and its web
    # client reads that as "no real-time updates"; hoplink answers the same.
    "GET /rest/v3/mercure-info": [not_a_server_error],
    # An array in a query string (tags[]=a) cannot be told from one value once sent, so a
    # "string instead of array" negative case is a valid one-tag request.
    "DELETE /rest/v3/tags": [negative_data_rejection],
    "GET /rest/v3/short-urls": [negative_data_rejection],
}


@pytest.fixture(scope="module")
def rest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    root = tmp_path_factory.mktemp("shlink-schemathesis")
    raised = {
        "HOPLINK_RATE_LIMIT_API_KEY": "off",
        "HOPLINK_RATE_LIMIT_CREATE_IP": "off",
        "HOPLINK_EMBEDDED_WORKER": "false",
    }
    saved = {name: os.environ.get(name) for name in raised}
    os.environ.update(raised)
    try:
        with running_server(root / "data", root / "server.log") as server:
            yield server, run_async(lambda: _seed(server))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(operation: Any, mode: str, server: Server, key: str, seen: dict[str, int]) -> str | None:
    strategy = operation.as_strategy(generation_mode=GenerationMode(mode))
    excluded = [*EXCLUDED, *ALSO_EXCLUDED.get(operation.label, [])]

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def check(case: Any) -> None:
        seen["cases"] += 1
        response = case.call_and_validate(
            base_url=server.url, headers={"X-Api-Key": key}, excluded_checks=excluded
        )
        seen[str(response.status_code)] = seen.get(str(response.status_code), 0) + 1

    try:
        check()
    except Unsatisfiable:
        # Nothing to make invalid: /health takes no parameter, body or key.
        assert mode == "negative" and operation.label.endswith("/health"), operation.label
        return None
    except (Exception, BaseExceptionGroup) as exc:
        return f"{operation.label} [{mode}]: {type(exc).__name__}: {str(exc)[:1500]}"
    return None


def test_shlink_api_conforms_to_its_openapi_document(rest_server: tuple[Server, str]) -> None:
    server, key = rest_server
    loaded = schemathesis.openapi.from_url(f"{server.url}/rest/v3/openapi.json")
    loaded.config.generation.update(allow_extra_parameters=False)
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) >= 18
    seen = {"cases": 0}
    failures = [
        failure
        for operation in operations
        for mode in MODES
        if (failure := _run(operation, mode, server, key, seen)) is not None
    ]
    print(f"schemathesis /rest/v3: {len(operations)} operations, {seen}")
    # The only 5xx: mercure-info's 501, as Shlink without a Mercure hub.
    assert seen.get("501", 0) <= 2 * MAX_EXAMPLES, seen
    assert not any(code.startswith("5") and code != "501" for code in seen), seen
    assert failures == [], "\n\n".join(failures)
    assert seen["cases"] >= len(operations) * 10, seen
