"""Hardening, second round (issue 12): every input ends in a result or a located error, never a traceback.

One test (or one parametrized family) per defect of the issue, each failing on the code before the fix."""

from __future__ import annotations

import io
import json
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import BASE_2024, case, cli, run

from engine import FactsError, OutputPathError, evaluate
from engine._output import check_output_file, check_output_folder

EXIT_OK, EXIT_USAGE, EXIT_FACTS = 0, 2, 3
pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording (Italian: test_i18n_errors)
HUGE_JSON_NUMBERS = ["1e26", "1E+100", "1e308", "-1e308", "1e400", "9" * 5000]


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(text.encode("utf-8"))))


def _problems(exc: pytest.ExceptionInfo[FactsError]) -> list[tuple[str | None, str]]:
    return [(p.path, p.code) for p in exc.value.problems]


# -- 1. money of 1e26 and above, special Decimals -----------------------------------------------------------------


@pytest.mark.parametrize("number", HUGE_JSON_NUMBERS)
def test_a_huge_json_amount_on_stdin_is_a_facts_error_at_its_path(monkeypatch: pytest.MonkeyPatch,
                                                                   number: str) -> None:
    _stdin(monkeypatch, '{"data_domanda":"2024-09-10","reddito_lavoro_autonomo":{"2023":' + number + "}}")
    code, out, err = cli("evaluate", "-", "--family", "iscro")
    assert (code, out) == (EXIT_FACTS, "")
    assert err.startswith("regole: the facts are not valid:\n<stdin>: $.reddito_lavoro_autonomo.2023: ")
    assert "over the limit of an amount" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", [Decimal("1e30"), Decimal("-1e30"), Decimal("NaN"), Decimal("sNaN"),
                                   Decimal("Inf"), Decimal("-Inf"), 1e308, -1e308, float("nan"), 10**40])
def test_extreme_python_amounts_are_facts_errors_at_their_path(value: Any) -> None:
    with pytest.raises(FactsError) as error:
        run(case(BASE_2024, reddito_lavoro_autonomo={"2023": value}))
    assert [p.path for p in error.value.problems] == ["$.reddito_lavoro_autonomo.2023"]


def test_a_huge_amount_in_a_jsonl_row_is_one_bad_row_and_the_batch_goes_on(tmp_path: Path) -> None:
    rows = [json.dumps(BASE_2024),
            '{"data_domanda":"2024-09-10","reddito_lavoro_autonomo":{"2023":1e26}}',
            '{"data_domanda":"2024-09-10","reddito_dichiarato":{"2023":1e400}}',
            json.dumps(BASE_2024)]
    data = tmp_path / "pop.jsonl"
    data.write_text("\n".join(rows) + "\n", "utf-8")
    code, out, err = cli("impact", str(data), "--versions", "2021,2024", "--json")
    assert code == EXIT_OK, err
    report = json.loads(out)
    assert report["rows"] == {"read": 4, "evaluated": 2, "bad": 2}
    assert [(p["row"], p["field"]) for p in report["problems"]] == [
        (2, "reddito_lavoro_autonomo.2023"), (3, "reddito_dichiarato.2023")]


@pytest.mark.parametrize(("path", "message"), [
    ((), "is not a date written YYYY-MM-DD"),  # by column: Arrow's CSV reader has no cell limit
    (("--full-trace",), "field larger than field limit"),  # row by row: Python's csv module's own limit
])
def test_a_csv_cell_over_the_csv_size_limit_is_one_bad_row(tmp_path: Path, path: tuple[str, ...],
                                                            message: str) -> None:
    data = tmp_path / "pop.csv"
    rows = ["data_domanda,regolarita_contributiva", "2024-09-10,true", "x" * 200_000 + ",true", "2024-09-10,false"]
    data.write_text("\n".join(rows) + "\n", "utf-8")
    code, out, err = cli("impact", str(data), "--versions", "2021,2024", "--json", *path)
    assert code == EXIT_OK, err
    report = json.loads(out)
    assert report["rows"] == {"read": 3, "evaluated": 2, "bad": 1}
    assert report["problems"][0]["row"] == 3
    assert message in report["problems"][0]["message"]


# -- 2. deep and self-referencing structures ----------------------------------------------------------------------


def test_a_mapping_nested_900_deep_is_a_facts_error() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(900):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(FactsError) as error:
        run(case(BASE_2024, altro=deep))
    assert [p.code for p in error.value.problems] == ["F007"]
    assert "nested deeper than 20 levels" in str(error.value)


@pytest.mark.parametrize("shape", ["list", "dict", "wide"])
def test_a_structure_that_contains_itself_is_a_facts_error(shape: str) -> None:
    loop: Any = [] if shape != "dict" else {}
    if shape == "dict":
        loop["x"] = loop
    else:
        loop.extend([loop] * (1 if shape == "list" else 50))  # "wide": 50 ** 20 paths if walked naively
    with pytest.raises(FactsError) as error:
        run(case(BASE_2024, prestazioni_iscro_precedenti=loop))
    assert [p.code for p in error.value.problems] == ["F007"]


# -- 3. non-string keys -------------------------------------------------------------------------------------------


def test_a_year_given_as_text_and_as_a_number_is_refused_not_silently_resolved() -> None:
    with pytest.raises(FactsError) as error:
        run(case(BASE_2024, reddito_dichiarato={"2023": "3000.00", 2023: "999999.00"}))
    assert _problems(error) == [("$.reddito_dichiarato.2023", "F002")]
    assert "given twice" in str(error.value)


def test_integer_year_keys_alone_are_read_as_the_years_they_name() -> None:
    facts = case(BASE_2024, reddito_dichiarato={2023: "3000.00"},
                 reddito_lavoro_autonomo={2021: "6000.00", 2022: "5000.00", 2023: "3000.00"})
    assert run(facts).to_json() == run(BASE_2024).to_json()


@pytest.mark.parametrize("key", [None, 2023.0, (2023,), True, b"2023", 10**30])
def test_keys_that_are_not_text_or_a_year_are_refused(key: Any) -> None:
    with pytest.raises(FactsError) as error:
        run(case(BASE_2024, reddito_dichiarato={key: "3000.00"}))
    assert _problems(error) == [("$.reddito_dichiarato", "F002")]
    assert "is not text" in str(error.value)


# -- 4. every unknown field ---------------------------------------------------------------------------------------


def test_every_unknown_field_is_reported() -> None:
    with pytest.raises(FactsError) as error:
        evaluate('{"data_domanda":"2024-09-10","foo":1,"bar":2,"baz":true}', family="iscro")
    assert _problems(error) == [("$.bar", "F003"), ("$.baz", "F003"), ("$.foo", "F003")]


def test_every_unknown_field_of_a_list_element_is_reported() -> None:
    with pytest.raises(FactsError) as error:
        run(case(BASE_2024, prestazioni_iscro_precedenti=[{"data_inizio": "2022-01-01", "x": 1, "y": 2}]))
    assert _problems(error) == [("$.prestazioni_iscro_precedenti[0].x", "F003"),
                                ("$.prestazioni_iscro_precedenti[0].y", "F003")]


# -- 5. an amount over the limit names the limit ------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["10000000000000", "-10000000000000.50", 10**13, Decimal("1000000000000.01")])
def test_an_amount_over_the_limit_names_the_limit(amount: Any) -> None:
    with pytest.raises(FactsError) as error:
        run(case(BASE_2024, ultimo_reddito_certificato=amount))
    (problem,) = error.value.problems
    assert problem.path == "$.ultimo_reddito_certificato"
    assert "over the limit of an amount: at most 1,000,000,000,000 euros" in problem.message
    assert "6.000,50" not in problem.message  # not the advice for a badly written number


def test_a_badly_written_amount_still_gets_the_advice() -> None:
    with pytest.raises(FactsError) as error:
        run(case(BASE_2024, ultimo_reddito_certificato="6.000,50"))
    assert "not \"6.000,50\"" in str(error.value)


# -- 6. a missing file, a folder, a document over the size limit --------------------------------------------------


@pytest.mark.parametrize("command", [("evaluate",), ("compare", "--versions", "2021,2024"),
                                     ("impact", "--versions", "2021,2024")])
def test_a_missing_input_file_says_the_file_does_not_exist(tmp_path: Path, command: tuple[str, ...]) -> None:
    missing = tmp_path / "nessuna.json"
    code, out, err = cli(command[0], str(missing), *command[1:])
    assert (code, out) == (EXIT_FACTS, "")
    assert err == f"regole: {missing}: $: the file does not exist\n"


def test_a_folder_given_as_facts_says_so(tmp_path: Path) -> None:
    code, _, err = cli("evaluate", str(tmp_path))
    assert code == EXIT_FACTS
    assert err == f"regole: {tmp_path}: $: this is a folder, not a file\n"


def test_a_document_over_the_size_limit_names_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text('{"a": "' + "x" * 1_000_000 + '"}', "utf-8")
    code, _, err = cli("evaluate", str(big))
    assert code == EXIT_FACTS
    assert "larger than the limit of 1,000,000 bytes" in err
    assert "1000001" not in err


def test_compare_reads_at_most_the_size_limit_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, '{"a": "' + "x" * 2_000_000 + '"}')
    code, _, err = cli("compare", "-", "--versions", "iscro@2021,iscro@2024")
    assert code == EXIT_FACTS
    assert "larger than the limit of 1,000,000 bytes" in err


# -- 7. output paths that cannot be written -----------------------------------------------------------------------


@pytest.fixture
def population(tmp_path: Path) -> Path:
    data = tmp_path / "pop.jsonl"
    data.write_text(json.dumps(BASE_2024) + "\n", "utf-8")
    return data


def test_impact_report_into_a_missing_folder_stops_before_the_run(population: Path, tmp_path: Path) -> None:
    code, out, err = cli("impact", str(population), "--versions", "2021,2024",
                         "--report", str(tmp_path / "nodir" / "x.html"))
    assert (code, out) == (EXIT_USAGE, "")  # nothing printed: the run did not start
    target, folder = tmp_path / "nodir" / "x.html", tmp_path / "nodir"
    assert err == f"regole: cannot write {target}: the folder {folder} does not exist\n"


def test_impact_report_onto_a_folder_stops_before_the_run(population: Path, tmp_path: Path) -> None:
    code, out, err = cli("impact", str(population), "--versions", "2021,2024", "--report", str(tmp_path))
    assert (code, out, err) == (EXIT_USAGE, "", f"regole: {tmp_path} is a folder: give the name of a file to write\n")


def test_docs_out_onto_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("", "utf-8")
    code, out, err = cli("docs", "--out", str(afile))
    assert (code, out) == (EXIT_USAGE, "")
    assert err == f"regole docs: {afile} is a file, not a folder: give a folder to write into\n"
    code, _, err = cli("docs", "--out", str(afile / "sub"))
    assert code == EXIT_USAGE
    assert err == f"regole docs: cannot write {afile / 'sub'}: {afile} is not a folder\n"


@pytest.mark.parametrize("where", ["folder", "missing"])
def test_population_out_that_cannot_be_written_is_refused(tmp_path: Path, where: str) -> None:
    target = tmp_path if where == "folder" else tmp_path / "nodir" / "p.jsonl"
    code, out, err = cli("population", "--family", "iscro", "--n", "3", "--out", str(target))
    assert (code, out) == (EXIT_USAGE, "")
    assert err.startswith("regole: ")
    assert "Traceback" not in err
    assert not (tmp_path / "nodir").exists()


def test_output_checks_accept_what_can_be_written(tmp_path: Path) -> None:
    check_output_file(tmp_path / "new.html")
    check_output_folder(tmp_path / "a" / "b")  # created by the command
    check_output_folder(tmp_path)
    with pytest.raises(OutputPathError):
        check_output_file(tmp_path / "a" / "new.html")


def test_guessing_the_family_lists_no_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guessing the family asks each facts schema yes or no: listing the other family's problems cost a spelling
    suggestion per unknown field (5 ms of the service's 7 ms a request); a wrong guess still lists them."""
    import engine._facts

    def no_suggestions(*args: Any) -> str:
        raise AssertionError("a spelling suggestion was worked out to guess the family")

    raw = Path(__file__).parent.parent.joinpath("examples", "iscro-2024-ammessa.json").read_bytes()
    monkeypatch.setattr(engine._facts, "suggest", no_suggestions)
    assert evaluate(raw).decision == "ammesso"


def test_a_byte_order_mark_before_a_facts_document_is_ignored(tmp_path: Path) -> None:
    """RFC 8259 lets a parser ignore a UTF-8 byte order mark (Notepad writes one): the document evaluates as
    without it; a bad byte after the mark is reported at its own position in the file."""
    from engine._facts import parse_facts_json

    facts = json.dumps({"data_domanda": "2024-09-10"}).encode()
    assert parse_facts_json(b"\xef\xbb\xbf" + facts) == parse_facts_json(facts) == {"data_domanda": "2024-09-10"}
    with pytest.raises(FactsError) as raised:
        parse_facts_json(b"\xef\xbb\xbf\xff")
    assert "3" in raised.value.problems[0].message  # the byte at 3, counted in the file as given
