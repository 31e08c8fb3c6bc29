"""Start-up errors name the bad GRIDSIGHT_TOKENS entry by its position and name and
never print a token (issue 14 §6), and token specs that would be silently ignored
(a supervisor's grid cells) are refused (issue 14 §8)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.main import create_app
from api.settings import Settings, SettingsInvalid, load_settings

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok-Secret-9f3a7c2e1b5d"
OTHER = "tok-Other-4e8b1d6a2c9f"

BAD_ROLE = f'{{"{OTHER}": {{"role": "admin", "name": "root"}}, "{TOKEN}": {{"role": "boss", "name": "li.wei"}}}}'
BAD_JSON = f'{{"{TOKEN}": {{"role": "admin", "name": "root"}}'


def _serve(env_tokens: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRIDSIGHT_TOKENS": env_tokens, "GRIDSIGHT_DEV_MODE": "false", "YOLO_OFFLINE": "1",
           "GRIDSIGHT_DATABASE_URL": f"sqlite:///{tmp_path / 'gs.db'}"}
    return subprocess.run([sys.executable, "-m", "gridsight.cli", "serve", "--port", "1"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("tokens, expected", [
    (BAD_ROLE, "error: GRIDSIGHT_TOKENS entry 2 ('li.wei'): role 'boss' is not one of worker, operator, "
               "supervisor, admin"),
    (BAD_JSON, "error: GRIDSIGHT_TOKENS is not valid JSON (Expecting ',' delimiter at line 1 column 62)"),
])
def test_serve_names_the_bad_entry_in_one_line_without_its_token(tmp_path: Path, tokens: str,
                                                                 expected: str) -> None:
    done = _serve(tokens, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [expected]
    assert TOKEN not in done.stdout + done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("tokens", [BAD_ROLE, BAD_JSON])
def test_the_app_factory_raises_one_clean_error(monkeypatch: pytest.MonkeyPatch, tokens: str) -> None:
    monkeypatch.setenv("GRIDSIGHT_TOKENS", tokens)
    with pytest.raises(SettingsInvalid) as info:
        create_app()
    assert TOKEN not in str(info.value) and "GRIDSIGHT_TOKENS" in str(info.value)
    # Nothing chained: a traceback printed by whoever catches it shows no pydantic error with the token in it.
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_a_validation_error_never_shows_a_value() -> None:
    with pytest.raises(Exception) as info:
        Settings(tokens={TOKEN: {"role": "boss", "name": "x"}}, database_url=["postgresql://u:pw-123456@db/x"])
    assert TOKEN not in str(info.value) and "pw-123456" not in str(info.value)


def test_every_bad_entry_gets_its_own_line() -> None:
    with pytest.raises(SettingsInvalid) as info:
        load_settings(tokens={TOKEN: {"role": "boss", "name": "a"}, OTHER: {"name": ""}})
    assert info.value.problems == [
        "GRIDSIGHT_TOKENS entry 1 ('a'): role 'boss' is not one of worker, operator, supervisor, admin",
        "GRIDSIGHT_TOKENS entry 2: role: Field required",
        "GRIDSIGHT_TOKENS entry 2: name: String should have at least 1 character",
    ]


@pytest.mark.parametrize("role", ["supervisor", "admin", "worker"])
def test_grids_on_a_role_that_sees_every_grid_are_refused(role: str) -> None:
    with pytest.raises(SettingsInvalid) as info:
        load_settings(tokens={TOKEN: {"role": role, "name": "zhang", "grids": ["cell-a"]}})
    assert info.value.problems == [
        f"GRIDSIGHT_TOKENS entry 1 ('zhang'): grids are only for operators; a {role} sees every grid "
        "(remove the grids, or make the token an operator's)"
    ]
    assert TOKEN not in str(info.value)


def test_operators_keep_their_grids() -> None:
    settings = load_settings(tokens={TOKEN: {"role": "operator", "name": "li", "grids": ["cell-a"]}})
    assert settings.tokens[TOKEN].grids == ["cell-a"]
