import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from gallery.models import Visibility
from scroller.settings import env_bool, env_choice, env_int

REPOSITORY = Path(__file__).resolve().parents[2]
SHOW_DEFAULT_VISIBILITY = (
    "import django; django.setup(); from django.conf import settings; print(settings.SCROLLER_DEFAULT_VISIBILITY)"
)


def start_up(**variables: str) -> subprocess.CompletedProcess:
    """Load the settings in a fresh process, as `manage.py` and Daphne do at start-up; prints the default visibility."""
    return subprocess.run(
        [sys.executable, "-c", SHOW_DEFAULT_VISIBILITY],
        cwd=REPOSITORY,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "scroller.settings", **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("Yes", True), (" on ", True), ("0", False), ("OFF", False)]
)
def test_a_boolean_variable_takes_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("SCROLLER_EXAMPLE", raw)

    assert env_bool("SCROLLER_EXAMPLE", default=not expected) is expected


def test_an_unset_or_empty_boolean_variable_keeps_its_default(monkeypatch):
    monkeypatch.delenv("SCROLLER_EXAMPLE", raising=False)
    assert env_bool("SCROLLER_EXAMPLE", default=True) is True
    monkeypatch.setenv("SCROLLER_EXAMPLE", "")
    assert env_bool("SCROLLER_EXAMPLE", default=False) is False


def test_a_boolean_variable_with_a_typo_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("SCROLLER_EXAMPLE", "ture")

    with pytest.raises(ImproperlyConfigured, match="SCROLLER_EXAMPLE='ture' is not a yes/no value"):
        env_bool("SCROLLER_EXAMPLE", default=False)


def test_the_server_refuses_to_start_with_a_misspelt_boolean():
    started = start_up(SCROLLER_SIGNUP_OPEN="flase")

    assert started.returncode != 0
    assert "SCROLLER_SIGNUP_OPEN='flase' is not a yes/no value" in started.stderr


def test_the_server_refuses_to_start_with_an_unknown_default_visibility():
    started = start_up(SCROLLER_DEFAULT_VISIBILITY="friends")

    assert started.returncode != 0
    assert "SCROLLER_DEFAULT_VISIBILITY='friends' is not one of public, private" in started.stderr


@pytest.mark.parametrize("visibility", Visibility.values)
def test_every_visibility_is_a_valid_default(visibility):
    started = start_up(SCROLLER_DEFAULT_VISIBILITY=visibility)

    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == visibility


def test_a_choice_variable_names_the_valid_choices(monkeypatch):
    monkeypatch.setenv("SCROLLER_EXAMPLE", "blue")

    with pytest.raises(ImproperlyConfigured, match="SCROLLER_EXAMPLE='blue' is not one of red, green"):
        env_choice("SCROLLER_EXAMPLE", choices=("red", "green"), default="red")


@pytest.mark.parametrize(
    ("raw", "message"),
    [("two", "SCROLLER_EXAMPLE='two' is not a whole number"), ("0", "SCROLLER_EXAMPLE='0' is less than 1")],
)
def test_a_number_variable_that_is_not_a_number_or_too_small_is_an_error_naming_it(monkeypatch, raw, message):
    monkeypatch.setenv("SCROLLER_EXAMPLE", raw)

    with pytest.raises(ImproperlyConfigured, match=message):
        env_int("SCROLLER_EXAMPLE", default=2, minimum=1)


def test_the_server_refuses_to_start_without_an_ingest_worker():
    started = start_up(SCROLLER_INGEST_WORKERS="0")

    assert started.returncode != 0
    assert "SCROLLER_INGEST_WORKERS='0' is less than 1, the least it may be" in started.stderr
