"""The first ten minutes on a fresh clone: the README's commands work as written after `make run`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", str(ROOT / "wsgi.py")]


def _clean_env(**extra) -> dict:
    """The environment of a newcomer's shell: none of the project's variables set."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RETENTION_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FLASK_"))}
    env.update(extra)
    return env


def _run(args, cwd, env, check=True):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_an_explicit_secret_key_on_a_fresh_checkout_creates_the_instance_folder(tmp_path):
    instance = tmp_path / "never-created" / "instance"
    env = _clean_env(SECRET_KEY="k" * 40, RETENTION_INSTANCE_PATH=str(instance))
    _run([*FLASK, "db", "upgrade"], cwd=tmp_path, env=env)
    assert (instance / "retention.db").is_file()


def test_readme_cli_commands_work_as_written_after_make_run(tmp_path):
    # `make run` writes .env once; the flask CLI reads it, so no variable has to be typed.
    _run(["make", "-s", "-f", str(ROOT / "Makefile"), ".env"], cwd=tmp_path, env=_clean_env())
    assert "RETENTION_ENV=development" in (tmp_path / ".env").read_text()
    env = _clean_env(RETENTION_INSTANCE_PATH=str(tmp_path / "instance"))
    _run([*FLASK, "db", "upgrade"], cwd=tmp_path, env=env)
    created = _run([*FLASK, "users", "create", "ops@example.com", "--role", "admin",
                    "--password", "a-long-password"], cwd=tmp_path, env=env)
    assert "created ops@example.com (admin)" in created.stderr
    token = _run([*FLASK, "tokens", "create", "ops@example.com"], cwd=tmp_path, env=env).stdout.strip()
    assert token.startswith("rt_")


def test_without_env_file_outside_development_the_secret_key_is_still_required(tmp_path):
    env = _clean_env(RETENTION_INSTANCE_PATH=str(tmp_path / "instance"))
    result = _run([*FLASK, "users", "create", "x@example.com", "--role", "admin", "--password", "p" * 12],
                  cwd=tmp_path, env=env, check=False)
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr
