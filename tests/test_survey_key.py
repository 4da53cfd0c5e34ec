"""The survey key: from the secret setting, else a key file outside the database, stable."""

from __future__ import annotations

import stat
from pathlib import Path

from pydantic import SecretStr

from bot.config import Settings
from bot.survey_key import KEY_FILE, survey_key


def test_the_key_comes_from_the_secret_setting(tmp_path: Path) -> None:
    one = Settings(data_dir=tmp_path, survey_secret=SecretStr("a long secret"))
    assert survey_key(one) == survey_key(one) and len(survey_key(one)) == 32
    other = Settings(data_dir=tmp_path, survey_secret=SecretStr("another secret"))
    assert survey_key(one) != survey_key(other)
    assert not (tmp_path / KEY_FILE).exists()


def test_without_a_secret_a_private_key_file_is_made_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = survey_key(settings)
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert survey_key(Settings(data_dir=tmp_path / "data")) == first
    assert survey_key(Settings(data_dir=tmp_path / "elsewhere")) != first
