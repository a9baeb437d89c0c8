"""Settings: validated once with messages naming the variable, and all documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoplink.config import ConfigError, Settings, load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"database_url": "mysql://x/y"}, "HOPLINK_DATABASE_URL: unsupported scheme 'mysql'"),
        ({"port": 0}, "HOPLINK_PORT:"),
        ({"code_length": 5}, "HOPLINK_CODE_LENGTH:"),
        ({"default_domain": "https://hop.example.com/x"}, "HOPLINK_DEFAULT_DOMAIN:"),
        ({"trusted_proxies": "10.0.0.0/8,not-a-net"}, "HOPLINK_TRUSTED_PROXIES:"),
        ({"log_level": "loud"}, "HOPLINK_LOG_LEVEL:"),
    ],
)
def test_bad_values_name_the_variable(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(**overrides)
    assert message in str(exc.value)


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPLINK_DATABASE_URL", "postgresql://db.internal/hoplink")
    monkeypatch.setenv("HOPLINK_TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8")
    settings = load_settings()
    assert settings.database_url_async == "postgresql+asyncpg://db.internal/hoplink"
    assert settings.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8")


def test_toml_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hoplink.toml"
    config.write_text('default_domain = "hop.example.com"\nport = 9000\n')
    monkeypatch.setenv("HOPLINK_CONFIG_FILE", str(config))
    monkeypatch.setenv("HOPLINK_PORT", "9100")
    settings = load_settings()
    assert settings.domain == "hop.example.com"
    assert settings.port == 9100


def test_embedded_default_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.is_sqlite
    assert settings.database_url_async == f"sqlite+aiosqlite:///{tmp_path.as_posix()}/hoplink.db"
    assert settings.domain == "localhost:8080"


def test_every_option_is_documented() -> None:
    text = DOCS.read_text()
    missing = [
        f"HOPLINK_{name.upper()}"
        for name in Settings.model_fields
        if f"HOPLINK_{name.upper()}" not in text
    ]
    assert missing == []
