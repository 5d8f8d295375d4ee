"""``regole check``: every file of tests/invalid_rulesets/ reports exactly its expected problems through the
command line (``--format json``), the bundled rulesets, templates and test cases check clean, every schema is a
valid JSON Schema, every bundled YAML names its schema for the editor, and the report reads as documented.

The folder holds one file per error kind (``# expect: CODE line col`` on the first line, as test_errors.py
reads them). Kinds that need more than one file (the versions of a family, templates, test cases) are folders
laid out like a project: ``rulesets/demo/*.yaml``, ``rulesets/demo/tests/*.yaml``,
``explanations/it/demo/*.j2`` and ``schemas/``; their first ruleset carries the expectations, each with the
file it is in when that is not the ruleset itself::

    # expect: T002 1 71 explanations/it/demo/requisito.soglia.j2
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_valid_output, cli
from jsonschema import Draft202012Validator

from engine import load_ruleset
from engine._check import check_paths
from engine._resources import rulesets_dir, schemas_dir

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
INVALID = TESTS / "invalid_rulesets"
_EXPECT = re.compile(r"^# expect: ([A-Z]\d{3}) (\d+) (\d+|-)(?: (\S+))?$")
NEW_CODES = {"P003", "P004", "P005", "S005", "V001", "V002", "V003", "T001", "T002", "T003", "K001", "K002", "K003",
             "W001", "W002"}



@dataclass
class Expected:
    code: str
    line: int
    column: int | None
    file: Path
    messages: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)


@dataclass
class Fixture:
    name: str
    target: Path  # what is given to `regole check`
    expected: list[Expected]


def fixture(entry: Path) -> Fixture:
    if entry.is_dir():
        rulesets = sorted((entry / "rulesets").glob("*/*.yaml"))
        holder = next(p for p in rulesets if p.read_text(encoding="utf-8").startswith("# expect: "))
        target = holder.parent
    else:
        holder = target = entry
    expected: list[Expected] = []
    for text in holder.read_text(encoding="utf-8").splitlines():
        if not text.startswith("#"):
            break
        if match := _EXPECT.match(text):
            column = None if match[3] == "-" else int(match[3])
            expected.append(Expected(match[1], int(match[2]), column, entry / match[4] if match[4] else holder))
        elif text.startswith("# message: "):
            expected[-1].messages.append(text.removeprefix("# message: "))
        elif text.startswith("# hint: "):
            expected[-1].hints.append(text.removeprefix("# hint: "))
    return Fixture(entry.name, target, expected)


FIXTURES = [fixture(entry) for entry in sorted(INVALID.iterdir()) if entry.suffix == ".yaml" or entry.is_dir()]


def check_json(*paths: Path | str, extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]:
    code, out, err = cli("check", *map(str, paths), "--format", "json", "--lang", "en", *extra)  # the fixtures' words
    assert err == ""
    report = json.loads(out)
    assert_valid_output("check", report)  # every report the tests read follows the published schema
    return code, report


# ---------------------------------------------------------------------------------------------------------------
# The folder of invalid rulesets, through the command line


def test_the_folder_has_a_file_for_every_new_kind_of_problem() -> None:
    codes = {e.code for f in FIXTURES for e in f.expected}
    assert codes >= NEW_CODES
    for f in FIXTURES:
        assert f.expected, f"{f.name}: no '# expect: CODE line col' line"
        assert all(e.messages for e in f.expected), f"{f.name}: every problem needs a '# message:'"


@pytest.mark.parametrize("case", FIXTURES, ids=lambda f: f.name)
def test_check_reports_exactly_the_expected_problems(case: Fixture) -> None:
    code, report = check_json(case.target)

    got = [(p["code"], p["line"], p["column"], Path(p["file"]).resolve()) for p in report["problems"]]
    assert got == [(e.code, e.line, e.column, e.file.resolve()) for e in case.expected], json.dumps(report, indent=1)
    for problem, want in zip(report["problems"], case.expected, strict=True):
        for fragment in want.messages:
            assert fragment in problem["message"]
        for fragment in want.hints:
            assert fragment in (problem["hint"] or "")
        assert problem["severity"] == ("warning" if want.code.startswith("W") else "error")
    errors = [e for e in case.expected if not e.code.startswith("W")]
    assert code == (1 if errors else 0)
    assert (report["errors"], report["warnings"]) == (len(errors), len(case.expected) - len(errors))


def test_one_run_reports_the_problems_of_every_file_given() -> None:
    paths = [INVALID / "p003_percentage_written_as_70.yaml", INVALID / "x003_misspelt_fact.yaml",
             INVALID / "y002_tab_indentation.yaml"]
    _, report = check_json(*paths)
    assert {Path(p["file"]).name for p in report["problems"]} == {p.name for p in paths}
    assert report["checked"]["rulesets"] == 3


# ---------------------------------------------------------------------------------------------------------------
# The text report


def test_text_report_is_location_code_message_source_line_caret_and_hint() -> None:
    path = INVALID / "p003_percentage_written_as_70.yaml"
    code, out, err = cli("check", str(path), "--lang", "en")
    assert (code, err) == (1, "")
    lines = out.splitlines()
    head = re.escape(str(path.relative_to(ROOT))) if Path.cwd() == ROOT else ".*"
    assert re.fullmatch(rf"{head}:31:35: error\[P003\]: percentuale_calo is a percentage, but this value is 70: "
                        "percentages are written as fractions between 0 and 1", lines[0])
    assert lines[1] == "          - {from: 2024-01-01, value: 70, sources: [legge]}"
    assert lines[2].index("^") == lines[1].index("70")
    assert lines[3] == "    hint: write 0.70 or 70%"
    assert lines[-1] == "checked 1 ruleset, 0 templates, 0 test files (0 cases): 1 error, 0 warnings"


def test_errors_come_before_warnings_and_earlier_stages_first(tmp_path: Path) -> None:
    text = (INVALID / "p003_percentage_written_as_70.yaml").read_text(encoding="utf-8")
    text = text.replace("  reddito: {type: money, label: il reddito}\n",
                        "  reddito: {type: money, label: il reddito}\n  anni: {type: integer, label: gli anni}\n")
    text = text.replace("reddito <= soglia * percentuale_calo", "reddito <= sogla * percentuale_calo")
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    _, report = check_json(path)
    # the compiler's X003 first, then the P003 still found on the data; no W001 while the rules do not compile
    assert [(p["code"], p["line"]) for p in report["problems"]] == [("X003", 36), ("P003", 32)]
    path.write_text(text.replace("sogla *", "soglia *"), encoding="utf-8")
    _, report = check_json(path)
    # the warning comes last although its line is earlier
    assert [(p["code"], p["line"]) for p in report["problems"]] == [("P003", 32), ("W001", 21)]


def test_a_percentage_written_70_percent_is_the_fraction(tmp_path: Path) -> None:
    text = (INVALID / "p003_percentage_written_as_70.yaml").read_text(encoding="utf-8")
    path = tmp_path / "demo.yaml"
    path.write_text(text.replace("value: 70,", 'value: "70%",'), encoding="utf-8")
    code, report = check_json(path)
    assert (code, report["problems"]) == (0, [])
    assert str(load_ruleset(path).parameters["percentuale_calo"].values[0].value) == "0.7"


def test_exit_codes(tmp_path: Path) -> None:
    assert check_json(INVALID / "w001_unused_fact.yaml")[0] == 0  # warnings only
    assert check_json(INVALID / "w001_unused_fact.yaml", extra=("--strict",))[0] == 1
    assert check_json(INVALID / "p004_values_gap.yaml")[0] == 1
    code, out, err = cli("check", str(tmp_path / "missing.yaml"))
    assert (code, out) == (2, "")
    assert "file o cartella inesistente" in err
    assert cli("check", "--format", "xml")[0] == 2


# ---------------------------------------------------------------------------------------------------------------
# The bundled rulesets


def test_every_bundled_ruleset_template_and_test_case_checks_clean() -> None:
    report = check_paths([rulesets_dir()])
    assert report.errors == (), report.render()
    assert report.rulesets >= 2
    assert report.templates > 0
    assert report.cases > 0
    iscro = [p for p in report.problems if "iscro" in Path(p.file or "").parts]
    assert iscro == [], report.render()  # not even a warning


def test_checking_one_version_still_sees_the_other_versions(tmp_path: Path) -> None:
    family = tmp_path / "iscro"
    family.mkdir()
    for path in (rulesets_dir() / "iscro").glob("*.yaml"):
        shutil.copy(path, family / path.name)
    assert check_json(family / "2024.yaml")[0] == 0
    text = (family / "2024.yaml").read_text(encoding="utf-8")
    (family / "2024.yaml").write_text(text.replace("valid_from: 2024-01-01", "valid_from: 2023-07-01"),
                                      encoding="utf-8")
    code, report = check_json(family / "2024.yaml")
    assert code == 1
    by_code = {p["code"]: p for p in report["problems"] if p["severity"] == "error"}
    assert set(by_code) == {"P005", "V001"}  # the 2024 parameters start in 2024, too
    assert by_code["V001"]["message"] == (
        "version 2024 starts on 2023-07-01, but version 2021 (2021.yaml) governs until 2023-12-31: both would "
        "govern from 2023-07-01 to 2023-12-31")
    (family / "2024.yaml").write_text(text.replace("valid_from: 2024-01-01", "valid_from: 2024-03-01"),
                                      encoding="utf-8")
    code, report = check_json(family)
    errors = [(p["code"], Path(p["file"]).name) for p in report["problems"] if p["severity"] == "error"]
    assert errors == [("V002", "2021.yaml")]
    assert "no version of iscro governs 2024-01-01 – 2024-02-29" in report["problems"][0]["message"]


def test_every_schema_is_a_valid_json_schema() -> None:
    files = sorted(path for path in schemas_dir().rglob("*") if path.is_file())
    assert {"ruleset.schema.json", "testcases.schema.json", "evaluate.schema.json"} <= {f.name for f in files}
    for path in files:
        assert path.suffix == ".json", f"{path.name}: only JSON Schemas belong in schemas/"
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


_EDITOR = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


@pytest.mark.parametrize(("pattern", "schema"), [("*/*.yaml", "ruleset.schema.json"),
                                                 ("*/tests/*.yaml", "testcases.schema.json")])
def test_every_bundled_yaml_names_its_schema_for_the_editor(pattern: str, schema: str) -> None:
    files = sorted(rulesets_dir().glob(pattern))
    assert files
    for path in files:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        match = _EDITOR.match(first)
        assert match, f"{path}: the first line must be '# yaml-language-server: $schema=…/{schema}'"
        target = (path.parent / match[1]).resolve()
        assert target.name == schema, f"{path}: names {match[1]}"
        assert target.is_file(), f"{path}: {match[1]} does not exist"


def test_every_code_is_documented_in_one_table() -> None:
    table = (ROOT / "docs" / "error-codes.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([A-Z]\d{3})` \|", table, flags=re.MULTILINE)
    assert len(documented) == len(set(documented)), "a code is in the table twice"
    in_code = set()
    for path in (ROOT / "engine").glob("*.py"):
        in_code |= set(re.findall(r"code=\"([A-Z]\d{3})\"", path.read_text(encoding="utf-8")))
    in_fixtures = {e.code for f in FIXTURES for e in f.expected}
    missing = (in_code | in_fixtures) - set(documented) - {"E000"}
    assert not missing, f"codes not in docs/error-codes.md: {sorted(missing)}"


def test_every_failing_template_is_found_in_one_run_once_per_spot(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(INVALID / "t003_undefined_when_rendered", project)
    (project / "explanations" / "it" / "demo" / "importo.j2").write_text("Importo: {{ v.importo|euro }} {{ totale }}\n",
                                                                       encoding="utf-8")
    cases = project / "rulesets" / "demo" / "tests" / "casi.yaml"
    cases.write_text(cases.read_text(encoding="utf-8") + """\
- name: sopra la soglia
  extends: sotto la soglia
  facts: {reddito: "150.00"}
  expected: {decision: respinto}
""", encoding="utf-8")
    code, report = check_json(project / "rulesets" / "demo")
    assert code == 1
    found = [(Path(p["file"]).name, p["line"], p["column"]) for p in report["problems"]]
    assert found == [("importo.j2", 1, 34), ("requisito.soglia.j2", 2, 12)]
    for problem in report["problems"]:
        assert problem["message"].startswith("rendering the result of case 'sotto la soglia'")
        assert problem["message"].endswith("is undefined (and 1 more case)")


def test_every_key_of_the_ruleset_schema_has_a_description() -> None:
    """Editors show these descriptions as help and completion (yaml-language-server)."""
    schema = json.loads((Path(__file__).resolve().parent.parent / "schemas" / "ruleset.schema.json").read_text("utf-8"))
    undocumented: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                target = sub
                if isinstance(sub, dict) and "$ref" in sub and "description" not in sub:
                    target = schema["$defs"][sub["$ref"].split("/")[-1]]
                if not (isinstance(target, dict) and "description" in target):
                    undocumented.append(f"{path}.{name}")
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    walk(schema, "$")
    assert undocumented == []
