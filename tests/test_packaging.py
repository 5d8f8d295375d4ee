"""The wheel carries the rulesets, schemas and templates: installed elsewhere, `regole` works from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installed_elsewhere_runs_from_another_folder(tmp_path: Path) -> None:
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("regole-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for bundled in ("engine/_bundled/rulesets/iscro/2024.yaml", "engine/_bundled/rulesets/cig-covid/2021-l178.yaml",
                    "engine/_bundled/schemas/iscro-domanda.schema.json",
                    "engine/_bundled/schemas/output/evaluate.schema.json",
                    "engine/_bundled/explanations/it/iscro/riepilogo.j2",
                    "engine/service/static/index.html", "engine/service/static/app.js",
                    "engine/service/static/style.css", "engine/service/static/vendor/swagger-ui/swagger-ui-bundle.js",
                    "engine/service/static/vendor/swagger-ui/LICENSE",
                    "engine/locale/it/LC_MESSAGES/regole.mo", "engine/locale/en/LC_MESSAGES/regole.mo"):
        assert bundled in names
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                                str(wheel)], capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = ("import engine, sys; from engine.cli import main; print(engine.__file__); "
              "code = main(['evaluate', sys.argv[1]]); main(['--lang', 'en', 'rulesets']); sys.exit(code)")
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([sys.executable, "-c", script, str(ROOT / "examples" / "iscro-2024-ammessa.json")],
                         cwd=elsewhere, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    first_line, *explanation = run.stdout.splitlines()
    assert first_line.startswith(str(site))  # the installed copy, not the source folder
    assert "Esito: AMMESSA. Importo mensile 687,50 €" in "\n".join(explanation)
    assert "(selected by: data_domanda)" in run.stdout  # the compiled English catalog is in the wheel
