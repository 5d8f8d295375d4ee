"""The ``regole`` command line: evaluate a case (text or JSON, from a file or standard input), force a law
version, list the rulesets, and the exit code and message of every kind of failure.

Run in-process through ``engine.cli.main(argv, stdout=..., stderr=...)``; one test runs the installed console
script in a subprocess to check that the exit codes reach the shell.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import BASE_2024, case, cli

from engine._resources import rulesets_dir
from engine.cli import EXIT_FACTS, EXIT_OK, EXIT_RULESET, EXIT_USAGE, EXIT_VERSION

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "iscro-2024-ammessa.json"
INVALID = Path(__file__).resolve().parent / "invalid_rulesets"



def facts_file(tmp_path: Path, facts: dict[str, object], name: str = "domanda.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(facts), encoding="utf-8")
    return path


def test_exit_codes_are_the_documented_ones() -> None:
    assert (EXIT_OK, EXIT_USAGE, EXIT_FACTS, EXIT_RULESET, EXIT_VERSION) == (0, 2, 3, 4, 5)


# ---------------------------------------------------------------------------------------------------------------
# Evaluating


def test_evaluate_the_example_explains_the_decision_in_italian() -> None:
    code, out, err = cli("evaluate", str(EXAMPLE))
    assert (code, err) == (EXIT_OK, "")
    assert out.startswith("ISCRO strutturale (L. 213/2023) (versione 2024)\n")
    assert "Esito: AMMESSA. Importo mensile 687,50 € per 6 mesi" in out
    assert "totale 4.125,00 €" in out
    assert "Regole applicate: iscro@2024" in out


def test_evaluate_json_is_the_full_result_with_provenance() -> None:
    code, out, err = cli("evaluate", str(EXAMPLE), "--json")
    assert (code, err) == (EXIT_OK, "")
    result = json.loads(out)
    assert (result["family"], result["version"], result["decision"]) == ("iscro", "2024", "ammesso")
    assert result["outputs"]["importo_mensile"] == "687.50"
    assert result["outputs"]["importo_totale"] == "4125.00"
    provenance = result["provenance"]
    assert re.fullmatch(r"[0-9a-f]{64}", provenance["ruleset_sha256"])
    bundled = (rulesets_dir() / "iscro" / "2024.yaml").read_bytes()
    assert provenance["ruleset_sha256"] == hashlib.sha256(bundled).hexdigest()
    assert (provenance["selecting_date"], provenance["forced_version"]) == ("2024-09-10", False)
    assert len(result["requirements"]) == 11
    assert {r["outcome"] for r in result["requirements"]} == {"soddisfatto"}


def test_evaluate_reads_standard_input_for_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(EXAMPLE.read_bytes())))
    code, out, err = cli("evaluate", "-", "--json")
    assert (code, err) == (EXIT_OK, "")
    assert json.loads(out)["outputs"]["importo_mensile"] == "687.50"


def test_bad_facts_on_standard_input_are_named_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(b'{"data_domanda": NaN}')))
    code, out, err = cli("evaluate", "-", "--family", "iscro")
    assert (code, out) == (EXIT_FACTS, "")
    assert err == "regole: i fatti non sono validi:\n<stdin>: $: NaN non è un numero ammesso da JSON\n"


def test_law_version_forces_the_2021_rules_on_a_2024_case() -> None:
    code, out, err = cli("evaluate", str(EXAMPLE), "--law-version", "2021")
    assert (code, err) == (EXIT_OK, "")
    assert out.startswith("ISCRO sperimentale (L. 178/2020) (versione 2021, applicata su richiesta)\n")
    assert "Regole applicate: iscro@2021" in out

    code, out, _ = cli("evaluate", str(EXAMPLE), "--law-version", "2021", "--json")
    result = json.loads(out)
    assert code == EXIT_OK
    assert (result["version"], result["provenance"]["forced_version"]) == ("2021", True)
    assert result["provenance"]["selecting_date"] == "2024-09-10"
    # the 2024 facts lack what the 2021 rules ask (e.g. the Reddito di cittadinanza), so nothing is refused
    assert result["decision"] == "indeterminato"
    assert "percettore_reddito_cittadinanza" in result["missing_facts"]


def test_rulesets_lists_both_iscro_versions_with_their_periods() -> None:
    code, out, err = cli("rulesets")
    assert (code, err) == (EXIT_OK, "")
    lines = out.splitlines()
    families = [line for line in lines if not line.startswith(" ")]
    assert families == ["cig-covid", "iscro"]  # sorted; each followed by its versions
    lines = lines[lines.index("iscro"):]
    assert re.fullmatch(r"\s+2021\s+1 gen 2021 – 31 dic 2023\s+ISCRO sperimentale \(L\. 178/2020\)\s+"
                        r"\(scelta da: data_domanda\)", lines[1])
    assert re.fullmatch(r"\s+2024\s+1 gen 2024 – …\s+ISCRO strutturale \(L\. 213/2023\)\s+"
                        r"\(scelta da: data_domanda\)", lines[2])
    assert len(lines) == 3


# ---------------------------------------------------------------------------------------------------------------
# Failures: exit code and message, never a traceback


def test_bad_facts_exit_3_with_every_field_path(tmp_path: Path) -> None:
    path = facts_file(tmp_path, case(BASE_2024, regolarita_contributiva="si",
                                     reddito_dichiarato={"2023": "3.000,00"}))
    code, out, err = cli("evaluate", str(path), "--family", "iscro")
    assert (code, out) == (EXIT_FACTS, "")
    assert err.startswith("regole: i fatti non sono validi:\n")
    assert f'{path}: $.reddito_dichiarato.2023: "3.000,00" non è un importo' in err
    assert f'{path}: $.regolarita_contributiva: "si" dovrebbe essere vero o falso (true/false)' in err
    assert "Traceback" not in err


def test_unknown_field_exit_3_with_the_suggestion(tmp_path: Path) -> None:
    path = facts_file(tmp_path, case(BASE_2024, percettore_nasp=False))
    code, _, err = cli("evaluate", str(path), "--family", "iscro", "--json")
    assert code == EXIT_FACTS
    assert f"{path}: $.percettore_nasp: campo sconosciuto 'percettore_nasp' (forse 'percettore_naspi'" in err


def test_facts_that_are_not_utf8_exit_3(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    raw = '{"data_domanda": "2024-09-10", "nota": "perché"}'.encode("latin-1")
    path.write_bytes(raw)
    code, out, err = cli("evaluate", str(path), "--family", "iscro")
    assert (code, out) == (EXIT_FACTS, "")
    assert f"{path}: $: non è testo UTF-8 (byte non valido alla posizione {raw.index(0xE9)})" in err


def test_missing_file_exit_3(tmp_path: Path) -> None:
    missing = tmp_path / "nessuna.json"
    code, out, err = cli("evaluate", str(missing))
    assert (code, out) == (EXIT_FACTS, "")
    assert err == f"regole: {missing}: $: il file non esiste\n"


def test_date_no_version_governs_exit_5(tmp_path: Path) -> None:
    path = facts_file(tmp_path, {"data_domanda": "2020-05-01"})
    code, out, err = cli("evaluate", str(path))
    assert (code, out) == (EXIT_VERSION, "")
    assert err.startswith("regole: nessuna versione di iscro regola la data 1 mag 2020 (")
    assert "2021: 1 gen 2021 – 31 dic 2023" in err
    assert "Traceback" not in err


def test_unknown_forced_version_exit_5() -> None:
    code, out, err = cli("evaluate", str(EXAMPLE), "--law-version", "1999")
    assert (code, out) == (EXIT_VERSION, "")
    assert err == "regole: iscro non ha la versione '1999'; note: 2021, 2024\n"


def test_unknown_family_exit_5() -> None:
    code, _, err = cli("evaluate", str(EXAMPLE), "--family", "cig")
    assert code == EXIT_VERSION
    assert err == "regole: misura sconosciuta 'cig'; note: cig-covid, iscro\n"


def test_unknown_option_exit_2() -> None:
    code, out, err = cli("evaluate", str(EXAMPLE), "--bogus")
    assert (code, out) == (EXIT_USAGE, "")
    assert "regole: errore: argomenti non riconosciuti: --bogus" in err
    english = cli("evaluate", str(EXAMPLE), "--bogus", "--lang", "en")[2]
    assert "regole: error: unrecognized arguments: --bogus" in english


def test_missing_command_exit_2() -> None:
    code, _, err = cli()
    assert code == EXIT_USAGE
    assert "sono obbligatori i seguenti argomenti: COMANDO" in err  # usage errors go to the stderr given


def test_broken_ruleset_in_rulesets_folder_exit_4_with_its_location(tmp_path: Path) -> None:
    family = tmp_path / "iscro"
    family.mkdir()
    shutil.copy(rulesets_dir() / "iscro" / "2024.yaml", family / "2024.yaml")
    broken = family / "2099.yaml"
    shutil.copy(INVALID / "x003_misspelt_fact.yaml", broken)
    for argv in (["evaluate", str(EXAMPLE)], ["rulesets"]):
        code, out, err = cli("--rulesets", str(tmp_path), *argv)
        assert (code, out) == (EXIT_RULESET, "")
        assert err.startswith(f"regole: errore nelle regole:\n{broken}:36:27: errore[X003]: ")
        assert "suggerimento: forse 'soglia'?" in err
        assert "Traceback" not in err


def test_rulesets_folder_with_only_a_valid_copy_evaluates(tmp_path: Path) -> None:
    (tmp_path / "iscro").mkdir()
    shutil.copy(rulesets_dir() / "iscro" / "2024.yaml", tmp_path / "iscro" / "2024.yaml")
    code, out, err = cli("--rulesets", str(tmp_path), "rulesets")
    assert (code, err) == (EXIT_OK, "")
    assert [line.split()[0] for line in out.splitlines()] == ["iscro", "2024"]


# ---------------------------------------------------------------------------------------------------------------
# The installed console script


def console_script() -> str:
    beside = Path(sys.executable).with_name("regole")
    found = str(beside) if beside.is_file() else shutil.which("regole")
    assert found, "the regole console script is not installed (pip install -e .)"
    return found


def test_installed_console_script_passes_exit_codes_to_the_shell(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    ok = subprocess.run([console_script(), "evaluate", str(EXAMPLE)], capture_output=True, text=True,
                        encoding="utf-8", env=env, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "Esito: AMMESSA. Importo mensile 687,50 €" in ok.stdout

    bad = facts_file(tmp_path, case(BASE_2024, regolarita_contributiva="si"))
    failed = subprocess.run([console_script(), "evaluate", str(bad), "--family", "iscro"], capture_output=True,
                            text=True, encoding="utf-8", env=env, timeout=120, check=False)
    assert failed.returncode == 3
    assert f'{bad}: $.regolarita_contributiva: "si" dovrebbe essere vero o falso (true/false)' in failed.stderr
    assert "Traceback" not in failed.stderr
    assert failed.stdout == ""


def test_json_explain_carries_the_italian_explanation_in_one_call() -> None:
    code, out, err = cli("evaluate", str(EXAMPLE), "--json", "--explain", "--lang", "en")
    assert (code, err) == (EXIT_OK, "")
    document = json.loads(out)
    _, text, _ = cli("evaluate", str(EXAMPLE))
    assert document["explanation"] == text  # the law's own Italian, whatever --lang says
    assert "Esito: AMMESSA" in document["explanation"]
    _, plain, _ = cli("evaluate", str(EXAMPLE), "--json")
    assert {k: v for k, v in document.items() if k != "explanation"} == json.loads(plain)
