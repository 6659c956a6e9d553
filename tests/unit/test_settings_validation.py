"""Settings refuse values that would only fail later with a traceback."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import Settings


def _refused(**values: object) -> str:
    with pytest.raises(ValidationError) as info:
        Settings(**values)  # type: ignore[arg-type]
    return str(info.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not-a-url", "not a database URL"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("mysql://u:pw@db/x", "unsupported database 'mysql'"),
        ("postgresql://u:pw@db:notaport/x", "not a database URL"),
        ("postgresql://u:pw@db:99999/x", "port 99999"),
    ],
)
def test_database_url_must_be_sqlite_or_postgresql(url: str, reason: str) -> None:
    assert reason in _refused(database_url=url)


def test_postgres_urls_are_still_accepted_and_use_psycopg() -> None:
    url = Settings(database_url="postgres://u:pw@db:5432/x").database_url
    assert url == "postgresql+psycopg://u:pw@db:5432/x"


def test_log_level_must_be_a_known_level() -> None:
    assert "log level must be one of" in _refused(log_level="verbose")
    assert Settings(log_level="debug").log_level == "DEBUG"


@pytest.mark.parametrize("field", ["detect_interval_seconds", "poll_interval_seconds"])
@pytest.mark.parametrize("value", ["inf", "nan", "1e12", "86401"])
def test_intervals_are_finite_and_at_most_a_day(field: str, value: str) -> None:
    _refused(**{field: value})


def test_a_day_is_an_accepted_interval() -> None:
    assert Settings(poll_interval_seconds=86400).poll_interval_seconds == 86400


@pytest.mark.parametrize("key", [" " * 20, " abcdefghijklmnopqrstu", "abcdefghijklmnopqrstu\n"])
def test_bootstrap_key_with_surrounding_whitespace_is_refused(key: str) -> None:
    assert "whitespace" in _refused(bootstrap_api_key=key)


def test_blank_model_dir_means_the_bundled_model() -> None:
    assert Settings(model_dir="  ").model_dir is None
