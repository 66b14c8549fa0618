import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_models_and_migrations_agree(tmp_path):
    """The suite builds tables straight from the models (--no-migrations), so this is where a missing migration shows."""
    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}"}
    check = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert check.returncode == 0, check.stdout + check.stderr
