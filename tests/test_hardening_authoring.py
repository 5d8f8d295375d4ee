"""Hardening, second round (issue 12), defects 8-12: rulesets and templates (trusted authors, but ``check``
must not fall over), explanations and the hints of the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import BASE_2024, case, cli, run

from engine import Explainer, RulesetError, TemplateError, explain
from engine._compile import load_ruleset_text

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording (Italian: test_i18n_errors)
RULESET_2024 = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text("utf-8")


# -- 8. a YAML integer too long for Python ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "message"), [("7" * 5000, "a whole number of 5,000 digits"),
                                                 ("1:30", "'1:30' is not a number regole reads")])
def test_a_yaml_integer_python_cannot_read_is_a_located_error(value: str, message: str) -> None:
    text = RULESET_2024.replace("value: 0.70,", f"value: {value},", 1)
    with pytest.raises(RulesetError) as error:
        load_ruleset_text(text, "long.yaml")
    (problem,) = [p for p in error.value.problems if p.code == "Y008"]
    assert (problem.file, problem.line) == ("long.yaml", 129)
    assert problem.message.startswith(message)
    assert len(problem.render().splitlines()[1]) < 200  # the offending line is shown around the column, not whole


def test_check_reports_a_yaml_integer_too_long(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(RULESET_2024.replace("value: 0.70,", f"value: {'7' * 5000},", 1), "utf-8")
    code, _, _ = cli("check", str(path))
    assert code == 1
    code, out, _ = cli("check", "--format", "json", str(path))
    assert code == 1
    assert '"code": "Y008"' in out


def test_an_unquoted_date_where_a_ruleset_wants_text_is_a_located_error() -> None:
    """Found by the fuzzing of issue 12: a note's text written 9999-12-31 was loaded as a date, and the result
    of every admitted case then failed to turn into JSON."""
    text = RULESET_2024.replace("label: la data di apertura delle domande", "label: 2024-01-01", 1)
    assert text != RULESET_2024
    with pytest.raises(RulesetError) as error:
        load_ruleset_text(text, "date.yaml")
    (problem,) = error.value.problems
    assert (problem.code, problem.line) == ("S004", 172)
    assert problem.message == "'2024-01-01' is read as a date, where text is expected: write it in quotes"


def test_a_version_name_too_long_for_a_folder_name_is_a_located_error() -> None:
    """Found by the fuzzing of issue 12: a version named with 5,000 characters loaded, and its explanation
    then failed looking for the folder of that name (OSError: file name too long)."""
    text = RULESET_2024.replace('version: "2024"', 'version: "' + "9" * 5000 + '"', 1)
    assert text != RULESET_2024
    with pytest.raises(RulesetError) as error:
        load_ruleset_text(text, "long-version.yaml")
    assert [(p.code, p.path) for p in error.value.problems] == [("S001", "version")]


# -- 9. powers and repetition in templates ------------------------------------------------------------------------


def _explainer_with(tmp_path: Path, template: str) -> Explainer:
    folder = tmp_path / "it" / "iscro"
    folder.mkdir(parents=True)
    for path in (ROOT / "explanations" / "it" / "iscro").glob("*.j2"):
        shutil.copy(path, folder / path.name)
    (folder / "requisito.gestione_separata.j2").write_text(template, "utf-8")
    return Explainer(tmp_path / "it")


@pytest.mark.parametrize("payload", [
    "{{ 10 ** 10000000 }}",
    "{{ 'x' * 1000000000 }}",
    "{{ 1000000000 * 'x' }}",
    "{{ [1, 2] * 100000 }}",
    "{{ (2 ** 5000) * (2 ** 5001) }}",
    "{% set ns = namespace(s='x' * 1000) %}{% for i in range(200) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "{{ 1 / 0 }}",
])
def test_templates_cannot_build_huge_values(tmp_path: Path, payload: str) -> None:
    explainer = _explainer_with(tmp_path, payload)  # unbounded, the first two take 17 s and 4 GB
    with pytest.raises(TemplateError) as error:
        explainer.explain(run(BASE_2024))
    assert error.value.problems[0].code == "T003"


def test_templates_keep_ordinary_powers_and_repetition(tmp_path: Path) -> None:
    explainer = _explainer_with(tmp_path, "{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ [0] * 2 }} {{ 'a' + 'b' }} {{ 3 * 4 }}")
    assert "1024 ababab [0, 0] ab 12" in explainer.explain(run(BASE_2024))


# -- 10. one ruleset of a --rulesets tree that fails to load --------------------------------------------------------


def test_a_ruleset_that_does_not_load_is_reported_without_false_template_errors(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "rulesets", project / "rulesets")
    shutil.copytree(ROOT / "explanations", project / "explanations")
    broken = project / "rulesets" / "iscro" / "2021.yaml"
    broken.write_text(broken.read_text("utf-8").replace("formula: anno(data_domanda)", "formula: anno(data_domanda) +",
                                                        1), "utf-8")
    code, out, _ = cli("--rulesets", str(project / "rulesets"), "check")
    assert code == 1
    assert "error[X001]" in out
    assert "T003" not in out
    assert "1 error" in out


# -- 11. a partita IVA opened after the application ---------------------------------------------------------------


def test_a_partita_iva_opened_after_the_application_says_so() -> None:
    text = explain(run(case(BASE_2024, data_apertura_partita_iva="2030-03-01")))
    line = next(line for line in text.splitlines() if "Partita IVA" in line and "✗" in line)
    assert "dopo la data della domanda (10 settembre 2024): a quella data non era ancora attiva" in line
    assert "-6" not in line


# -- 12. hints --------------------------------------------------------------------------------------------------------


def test_diff_with_a_family_for_a_version_names_its_versions() -> None:
    code, _, err = cli("diff", "iscro", "iscro@2024")
    assert code == 2
    assert err == "regole diff: 'iscro' is a family: name one of its versions, e.g. iscro@2024 (known: 2021, 2024)\n"
    assert "iscro@iscro" not in err


def test_population_of_an_unknown_family_says_unknown_family() -> None:
    code, _, err = cli("population", "--family", "nope")
    assert code == 5
    assert err.startswith("regole: unknown family 'nope'; known: ")


def test_a_case_file_outside_a_tests_folder_says_where_case_files_go(tmp_path: Path) -> None:
    stray = tmp_path / "mycase.yaml"
    stray.write_text("cases: []\n", "utf-8")
    code, _, err = cli("test", str(stray))
    assert code == 2
    assert "a case file is read from the tests/ folder beside the family's rulesets" in err
    assert "no test cases found" not in err
