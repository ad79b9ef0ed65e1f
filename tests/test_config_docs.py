"""The README's configuration table documents only settings the code reads (nothing half-built)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _documented_variables() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Configuration (environment)", 1)[1].split("\n## ", 1)[0]
    names = []
    for cell in re.findall(r"^\| ([^|]+) \|", table, flags=re.M):
        found = re.findall(r"`([A-Z_.]+)`", cell)
        prefix = ""
        for name in found:
            if name.startswith("..."):  # `RETENTION_COMPANY_NAME`, `..._WEBSITE`: same prefix
                name = prefix + name[3:]
            else:
                prefix = name.rsplit("_", 1)[0]
            names.append(name)
    return names


def test_every_documented_variable_is_read_by_the_code():
    code = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "retention").rglob("*.py"))
    names = _documented_variables()
    assert "DATABASE_URL" in names and "RETENTION_COMPANY_PHONE" in names  # the table was read
    unread = [name for name in names if f'"{name}"' not in code]
    assert unread == [], f"documented but not read by retention/: {unread}"


def test_email_settings_are_documented(app):
    # Email is built (retention/mail/): its server and the outbox folder of the embedded default are documented.
    assert {"SMTP_URL", "RETENTION_MAIL_OUTBOX_DIR", "RETENTION_PUBLIC_URL"} <= set(_documented_variables())
    assert app.config["SMTP_URL"] is None and app.config["MAIL_OUTBOX_DIR"]


def _pins(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))


def test_production_installs_no_test_tools_and_make_test_installs_them(tmp_path):
    import shutil
    import subprocess

    tools = {"pytest", "playwright", "pdfplumber", "schemathesis", "hypothesis"}
    assert not tools & {name.lower() for name in _pins("requirements.txt")}
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    assert "-r requirements.txt" in dev.splitlines() and tools <= set(_pins("requirements-dev.txt"))
    # After `make run` (runtime stamp present), `make test` still installs the test tools; `make run` never does.
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / ".installed").touch()
    plan = subprocess.run(["make", "-n", "test"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert "-r requirements-dev.txt" in plan
    (tmp_path / ".venv" / "bin" / ".installed").unlink()
    plan = subprocess.run(["make", "-n", "run"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert "-r requirements.txt" in plan and "requirements-dev" not in plan
