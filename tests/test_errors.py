"""Every kind of error a user can make, in a ruleset or in the facts of a case, and what regole says about it:
the exception type, the error code, the file, line and column (rulesets) or the JSON path (facts), the
message and the "did you mean" hint.

Ruleset errors live in ``tests/invalid_rulesets/``: one small file per error kind, each a minimal valid
ruleset with one thing changed. Its leading comments say what must be reported, in order::

    # expect: X003 36 27              one line per problem: code, line, column (1-based)
    # message: unknown name 'sogla'   a fragment of that problem's message
    # hint: did you mean 'soglia'?    optional: a fragment of its hint

A few more errors are made by changing one thing in the real ``rulesets/iscro/2024.yaml``; their expected
positions are computed from that file's text, so they stay exact when the ruleset is edited.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import BASE_2024, case

from engine import (
    ExpressionError,
    FactsError,
    RegoleError,
    RulesetError,
    RulesetSchemaError,
    YamlSyntaxError,
    evaluate,
    load_ruleset,
)

pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording

TESTS = Path(__file__).resolve().parent
INVALID = TESTS / "invalid_rulesets"
RULESET_2024 = TESTS.parent / "rulesets" / "iscro" / "2024.yaml"

_EXPECT = re.compile(r"^# expect: ([A-Z]\d{3}) (\d+) (\d+)$")
_EXCEPTION_BY_PREFIX = {"Y": YamlSyntaxError, "S": RulesetSchemaError}  # every other code: ExpressionError


@dataclass
class Expected:
    code: str
    line: int
    column: int
    messages: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)


def expectations(path: Path) -> list[Expected]:
    """The problems a file in invalid_rulesets/ declares in its leading comments."""
    expected: list[Expected] = []
    for text in path.read_text(encoding="utf-8").splitlines():
        if not text.startswith("#"):
            break
        if match := _EXPECT.match(text):
            expected.append(Expected(match[1], int(match[2]), int(match[3])))
        elif text.startswith("# message: "):
            expected[-1].messages.append(text.removeprefix("# message: "))
        elif text.startswith("# hint: "):
            expected[-1].hints.append(text.removeprefix("# hint: "))
    return expected


# Codes that loading one ruleset cannot find: `regole check` reports them (tests/test_check.py runs every file
# of the folder, these included, through it).
CHECK_ONLY = ("P003", "P004", "P005", "S005", "K", "T", "V", "W")
INVALID_FILES = sorted(p for p in INVALID.glob("*.yaml") if not expectations(p)[0].code.startswith(CHECK_ONLY))


def load_error(path: Path) -> RulesetError:
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    return info.value


# ---------------------------------------------------------------------------------------------------------------
# The folder of invalid rulesets


def test_the_folder_covers_every_ruleset_error_kind() -> None:
    codes = {e.code for path in INVALID_FILES for e in expectations(path)}
    assert codes >= {
        "Y001", "Y002", "Y003", "Y004", "Y006", "Y008", "Y009",
        "S002", "S003", "S004",
        "C001", "C002", "C003", "C004", "C005", "C007",
        "X001", "X002", "X003", "X004",
        "R001", "R002", "P001", "P002",
    }
    for path in INVALID_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert _EXPECT.match(lines[0]), f"{path.name}: the first line must be '# expect: CODE line col'"
        assert all(e.messages for e in expectations(path)), f"{path.name}: every problem needs a '# message:'"


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.stem)
def test_invalid_ruleset_is_refused_with_every_problem_located(path: Path) -> None:
    expected = expectations(path)
    error = load_error(path)

    assert type(error) is _EXCEPTION_BY_PREFIX.get(expected[0].code[0], ExpressionError)
    got = [(p.code, p.line, p.column) for p in error.problems]
    assert got == [(e.code, e.line, e.column) for e in expected], "\n" + str(error)
    for problem, want in zip(error.problems, expected, strict=True):
        assert problem.file == str(path)
        for fragment in want.messages:
            assert fragment in problem.message
        for fragment in want.hints:
            assert problem.hint is not None
            assert fragment in problem.hint
        if not want.hints:
            assert problem.hint is None or "did you mean" not in problem.hint
    # the first problem is the error's own location
    assert (error.file, error.line, error.column) == (str(path), expected[0].line, expected[0].column)
    assert str(error).startswith(f"{path}:{expected[0].line}:{expected[0].column}: error[{expected[0].code}]: ")


def test_every_problem_of_a_file_is_in_the_message_in_order() -> None:
    path = INVALID / "mixed_expression_and_source.yaml"
    text = str(load_error(path))
    first = text.index(f"{path}:39:27: error[X003]: unknown name 'sogla'")
    second = text.index(f"{path}:40:15: error[R001]: source 'leggi' is not declared under 'sources'")
    assert first < second


def test_error_text_is_location_code_message_source_line_caret_and_hint() -> None:
    path = INVALID / "x003_misspelt_fact.yaml"
    lines = str(load_error(path)).splitlines()
    assert lines == [
        f"{path}:36:27: error[X003]: unknown name 'sogla'",
        "        condition: reddito <= sogla",
        "    " + " " * 26 + "^",
        "    hint: did you mean 'soglia'?",
    ]
    assert lines[2].index("^") == lines[1].index("sogla")


def test_caret_of_a_syntax_error_is_under_the_offending_character() -> None:
    path = INVALID / "x001_unbalanced_parenthesis.yaml"
    error = load_error(path)
    assert isinstance(error, ExpressionError)
    source, caret = str(error).splitlines()[1:3]
    assert source == "        condition: reddito <= soglia)"
    assert source[caret.index("^")] == ")"
    assert caret.strip() == "^"


def test_tab_error_points_at_the_tab_itself() -> None:
    path = INVALID / "y002_tab_indentation.yaml"
    error = load_error(path)
    problem = error.problems[0]
    assert problem.source_line is not None
    assert problem.source_line[problem.column - 1] == "\t"


def test_billion_laughs_is_refused_at_the_first_alias_without_expanding_it() -> None:
    path = INVALID / "y003_billion_laughs.yaml"
    assert path.stat().st_size < 2_000  # 9**9 "lol"s if it were ever expanded
    start = time.perf_counter()
    error = load_error(path)
    elapsed = time.perf_counter() - start
    assert isinstance(error, YamlSyntaxError)
    assert [(p.code, p.line, p.column) for p in error.problems] == [("Y003", 8, 7)]  # at the first anchor
    assert elapsed < 0.5


def test_a_ruleset_over_one_megabyte_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * 1_000_000 + "\n" + RULESET_2024.read_text(encoding="utf-8"), encoding="utf-8")
    error = load_error(path)
    assert isinstance(error, YamlSyntaxError)
    assert [(p.code, p.line, p.column) for p in error.problems] == [("Y005", 1, 1)]
    assert f"file is {path.stat().st_size} bytes, over the limit of 1000000" in error.problems[0].message


def test_a_ruleset_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(RULESET_2024.read_text(encoding="utf-8").encode("latin-1", errors="replace"))
    error = load_error(path)
    assert isinstance(error, YamlSyntaxError)
    assert error.problems[0].code == "Y000"
    assert "not UTF-8 text" in error.problems[0].message


# ---------------------------------------------------------------------------------------------------------------
# One change to the real ISCRO 2024 ruleset


def locate(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first occurrence of ``needle`` in ``text``."""
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def changed_2024(tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    """A copy of rulesets/iscro/2024.yaml with one change; also returns the original text."""
    original = RULESET_2024.read_text(encoding="utf-8")
    assert original.count(old) == 1, f"{old!r} must occur once in 2024.yaml"
    path = tmp_path / "iscro" / "2024.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(original.replace(old, new), encoding="utf-8")
    return path, original


def test_the_unchanged_2024_ruleset_loads(tmp_path: Path) -> None:
    path, _ = changed_2024(tmp_path, "title: ISCRO strutturale", "title: ISCRO strutturale")
    law = load_ruleset(path)
    assert law.key == "iscro@2024"
    assert len(law.requirements) == 11


def test_2024_misspelt_fact_in_a_condition_points_inside_the_expression(tmp_path: Path) -> None:
    path, original = changed_2024(tmp_path, "condition: not titolare_pensione_diretta",
                                  "condition: not titolare_pension_diretta")
    line, column = locate(original, "titolare_pensione_diretta\n")
    error = load_error(path)
    assert isinstance(error, ExpressionError)
    (problem,) = error.problems
    assert (problem.code, problem.file, problem.line, problem.column) == ("X003", str(path), line, column)
    assert problem.message == "unknown name 'titolare_pension_diretta'"
    assert problem.hint == "did you mean 'titolare_pensione_diretta'?"


def test_2024_misspelt_list_inside_a_quoted_condition_skips_the_quote(tmp_path: Path) -> None:
    path, original = changed_2024(tmp_path, "nessuno(p in prestazioni_iscro_precedenti:",
                                  "nessuno(p in prestazioni_iscro_precedent:")
    line, column = locate(original, "p in prestazioni_iscro_precedenti:")
    column += len("p in ")
    (problem,) = load_error(path).problems
    assert (problem.code, problem.line, problem.column) == ("X003", line, column)
    assert problem.hint == "did you mean 'prestazioni_iscro_precedenti'?"


def test_2024_unclosed_call_is_a_syntax_error_at_the_end_of_the_formula(tmp_path: Path) -> None:
    formula = "arrotonda(media_redditi / 2 * percentuale_importo, 2)"
    path, original = changed_2024(tmp_path, formula, formula[:-1])
    line, column = locate(original, formula)
    error = load_error(path)
    assert isinstance(error, ExpressionError)
    (problem,) = error.problems
    # the caret is on the last token of the formula, the "2" after which ")" is missing
    assert (problem.code, problem.line, problem.column) == ("X001", line, column + len(formula) - 2)
    assert problem.message.startswith("unexpected end of the expression; expected )")


def test_2024_money_compared_with_an_integer_is_a_type_error(tmp_path: Path) -> None:
    path, original = changed_2024(tmp_path, "reddito_dichiarato_riferimento <= soglia_reddito",
                                  "reddito_dichiarato_riferimento <= anno_riferimento")
    line, column = locate(original, "reddito_dichiarato_riferimento <= soglia_reddito")
    (problem,) = load_error(path).problems
    assert (problem.code, problem.line, problem.column) == ("X004", line, column)
    assert problem.message == "cannot compare money with integer"
    assert problem.hint is not None
    assert "compare money with money" in problem.hint


def test_2024_two_undeclared_sources_are_both_reported_in_one_run(tmp_path: Path) -> None:
    path, original = changed_2024(tmp_path, "    sources: [l213_c144_e]", "    sources: [l213_c144_g, circ84_2042]")
    line, column = locate(original, "l213_c144_e]")
    error = load_error(path)
    assert isinstance(error, ExpressionError)
    assert [(p.code, p.line, p.column) for p in error.problems] == [
        ("R001", line, column), ("R001", line, column + len("l213_c144_g, "))]
    assert error.problems[0].message == "source 'l213_c144_g' is not declared under 'sources'"
    assert error.problems[0].hint is not None
    assert "'l213_c144_e'" in error.problems[0].hint
    assert error.problems[1].hint is not None
    assert "'circ84_2024'" in error.problems[1].hint
    assert str(error).count("error[R001]") == 2


def test_2024_derived_value_depending_on_itself_is_a_cycle(tmp_path: Path) -> None:
    path, original = changed_2024(tmp_path, "formula: anno(data_domanda)", "formula: anno_riferimento + 1")
    line, column = locate(original, "anno_domanda:")
    (problem,) = load_error(path).problems
    assert (problem.code, problem.line, problem.column) == ("C003", line, column)
    assert problem.message == "'anno_domanda' depends on itself: anno_domanda -> anno_riferimento -> anno_domanda"


def test_2024_impossible_date(tmp_path: Path) -> None:
    path, original = changed_2024(tmp_path, "valid_from: 2024-01-01", "valid_from: 2024-02-30")
    line, column = locate(original, "2024-01-01")
    error = load_error(path)
    assert isinstance(error, YamlSyntaxError)
    (problem,) = error.problems
    assert (problem.code, problem.line, problem.column) == ("Y009", line, column)
    assert problem.message == "'2024-02-30' is not a real date"
    assert problem.path == "period.valid_from"


def test_2024_unknown_top_level_key_suggests_the_right_one(tmp_path: Path) -> None:
    path, original = changed_2024(tmp_path, "description: >", "descripton: >")
    line, column = locate(original, "description: >")
    error = load_error(path)
    assert isinstance(error, RulesetSchemaError)
    (problem,) = error.problems
    assert (problem.code, problem.line, problem.column) == ("S002", line, column)
    assert problem.hint is not None
    assert "did you mean 'description'" in problem.hint


def test_2024_python_tag_is_refused(tmp_path: Path) -> None:
    path, original = changed_2024(tmp_path, "title: ISCRO strutturale (L. 213/2023)",
                                  "title: !!python/object/apply:os.system [echo]")
    line, column = locate(original, "ISCRO strutturale (L. 213/2023)")
    error = load_error(path)
    assert isinstance(error, YamlSyntaxError)
    (problem,) = error.problems
    assert (problem.code, problem.line, problem.column) == ("Y004", line, column)
    assert "python/object/apply:os.system" in problem.message


def test_2024_duplicate_key_message_names_the_first_line(tmp_path: Path) -> None:
    path, original = changed_2024(tmp_path, "  percettore_alas:\n", "  percettore_naspi:\n")
    first, _ = locate(original, "  percettore_naspi:")
    error = load_error(path)
    assert isinstance(error, YamlSyntaxError)
    (problem,) = error.problems
    assert problem.code == "Y007"
    assert problem.path == "facts.percettore_naspi"
    assert problem.message.startswith(f"duplicate key 'percettore_naspi': the first one is on line {first};")
    # Not pinned here: problem.line/column. They point at the FIRST occurrence (line `first`) rather than at the
    # duplicate, because _yaml._construct records the new key's mark only after building the problem.


# ---------------------------------------------------------------------------------------------------------------
# Facts errors


def facts_error(facts: object) -> FactsError:
    with pytest.raises(FactsError) as info:
        evaluate(facts, family="iscro")  # type: ignore[arg-type]
    assert isinstance(info.value, RegoleError)
    for problem in info.value.problems:
        assert problem.file is None
        assert problem.line is None
    return info.value


def only(error: FactsError) -> tuple[str, str | None, str]:
    (problem,) = error.problems
    return problem.code, problem.path, problem.message


def test_wrong_type() -> None:
    code, path, message = only(facts_error(case(BASE_2024, regolarita_contributiva="si")))
    assert (code, path, message) == ("F002", "$.regolarita_contributiva", '"si" should be boolean')


def test_wrong_container_type() -> None:
    code, path, message = only(facts_error(case(BASE_2024, reddito_lavoro_autonomo=[6000, 5000])))
    assert (code, path, message) == ("F002", "$.reddito_lavoro_autonomo", "[6000, 5000] should be object")


def test_italian_money_format_is_refused_with_the_right_form() -> None:
    incomes = {"2021": "6000.00", "2022": "5000.00", "2023": "6.000,00"}
    code, path, message = only(facts_error(case(BASE_2024, reddito_lavoro_autonomo=incomes)))
    assert (code, path) == ("F004", "$.reddito_lavoro_autonomo.2023")
    assert message.startswith('"6.000,00" is not an amount')
    assert 'e.g. "6000.50"' in message


def test_money_string_with_three_decimals() -> None:
    code, path, message = only(facts_error(case(BASE_2024, reddito_dichiarato={"2023": "3000.001"})))
    assert (code, path) == ("F004", "$.reddito_dichiarato.2023")
    assert "at most two decimals" in message


def test_money_json_number_with_three_decimals() -> None:
    text = json.dumps(case(BASE_2024, reddito_dichiarato={"2023": "__AMOUNT__"})).replace('"__AMOUNT__"', "3000.001")
    code, path, message = only(facts_error(text))
    assert (code, path, message) == (
        "F004", "$.reddito_dichiarato.2023", "3000.001 has more than two decimals; amounts are in euros and cents")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_numbers_are_refused(constant: str) -> None:
    text = json.dumps(case(BASE_2024, reddito_dichiarato={"2023": "__AMOUNT__"})).replace('"__AMOUNT__"', constant)
    code, path, message = only(facts_error(text))
    assert (code, path, message) == ("F002", "$", f"{constant} is not a number JSON allows")


@pytest.mark.parametrize(("field", "value"), [("data_domanda", "2024-02-30"),
                                              ("data_apertura_partita_iva", "2015-02-29")])
def test_impossible_date(field: str, value: str) -> None:
    code, path, message = only(facts_error(case(BASE_2024, **{field: value})))
    assert (code, path, message) == ("F006", f"$.{field}", f'"{value}" is not a real date (YYYY-MM-DD)')


def test_impossible_date_inside_a_list() -> None:
    error = facts_error(case(BASE_2024, prestazioni_iscro_precedenti=[{"data_inizio": "2022-13-01"}]))
    code, path, _ = only(error)
    assert (code, path) == ("F006", "$.prestazioni_iscro_precedenti[0].data_inizio")


def test_date_in_the_wrong_format() -> None:
    error = facts_error(case(BASE_2024, data_domanda="10/09/2024"))
    assert {(p.code, p.path) for p in error.problems} == {("F006", "$.data_domanda")}
    assert '"10/09/2024" is not a date written YYYY-MM-DD' in [p.message for p in error.problems]


def test_unknown_field_suggests_the_closest_one() -> None:
    error = facts_error(case(BASE_2024, percettore_nasp=False))
    code, path, message = only(error)
    assert (code, path, message) == ("F003", "$.percettore_nasp", "unknown field 'percettore_nasp'")
    assert error.problems[0].hint is not None
    assert error.problems[0].hint.startswith("did you mean 'percettore_naspi'")
    assert "(did you mean 'percettore_naspi'" in str(error)


def test_unknown_field_inside_a_list_element() -> None:
    error = facts_error(case(BASE_2024, prestazioni_iscro_precedenti=[{"data_inizio": "2022-01-01"},
                                                                      {"data_inizo": "2023-01-01"}]))
    by_path = {p.path: p for p in error.problems}
    assert set(by_path) == {"$.prestazioni_iscro_precedenti[1].data_inizo",
                            "$.prestazioni_iscro_precedenti[1].data_inizio"}
    assert by_path["$.prestazioni_iscro_precedenti[1].data_inizo"].code == "F003"
    assert by_path["$.prestazioni_iscro_precedenti[1].data_inizo"].hint == "did you mean 'data_inizio'?"
    assert by_path["$.prestazioni_iscro_precedenti[1].data_inizio"].code == "F005"


def test_missing_application_date() -> None:
    code, path, message = only(facts_error(case(BASE_2024, data_domanda=None)))
    assert (code, path, message) == ("F005", "$.data_domanda", "required field 'data_domanda' is missing")


def test_several_bad_fields_are_all_reported_in_one_error() -> None:
    facts = case(BASE_2024, regolarita_contributiva="si", data_domanda="2024-02-30", percettore_nasp=False,
                 reddito_dichiarato={"2023": "3.000,00"})
    error = facts_error(facts)
    assert [(p.path, p.code) for p in error.problems] == [
        ("$.data_domanda", "F006"),
        ("$.percettore_nasp", "F003"),
        ("$.reddito_dichiarato.2023", "F004"),
        ("$.regolarita_contributiva", "F002"),
    ]
    lines = str(error).splitlines()
    assert len(lines) == 4
    assert [line.split(":")[0] for line in lines] == [p.path for p in error.problems]


def test_facts_error_text_names_the_source() -> None:
    with pytest.raises(FactsError) as info:
        evaluate(json.dumps(case(BASE_2024, percettore_naspi="no")), family="iscro", source="domanda.json")
    assert str(info.value) == 'domanda.json: $.percettore_naspi: "no" should be boolean'


@pytest.mark.parametrize("as_bytes", [False, True], ids=["text", "bytes"])
def test_a_document_over_one_megabyte_is_refused(as_bytes: bool) -> None:
    text = json.dumps(case(BASE_2024)) + " " * 1_000_000
    unit = "bytes" if as_bytes else "characters"
    code, path, message = only(facts_error(text.encode() if as_bytes else text))
    assert (code, path) == ("F007", "$")
    assert message == f"the document is larger than the limit of 1,000,000 {unit}"


def test_ten_thousand_nested_lists_are_refused_without_a_recursion_error() -> None:
    text = '{"data_domanda": "2024-09-10", "prestazioni_iscro_precedenti": ' + "[" * 10_000 + "]" * 10_000 + "}"
    code, path, message = only(facts_error(text))
    assert (code, path, message) == ("F007", "$", "the document is nested too deeply")


def test_moderately_deep_nesting_is_refused_before_schema_validation() -> None:
    text = '{"data_domanda": "2024-09-10", "prestazioni_iscro_precedenti": ' + "[" * 30 + "]" * 30 + "}"
    code, path, message = only(facts_error(text))
    assert (code, path, message) == ("F007", "$", "the document is nested deeper than 20 levels")


def test_non_utf8_bytes_are_refused_with_the_offset() -> None:
    raw = b'{"data_domanda": "2024-09-10", "x": "\xff"}'
    code, path, message = only(facts_error(raw))
    assert (code, path, message) == ("F008", "$", f"not UTF-8 text (invalid byte at offset {raw.index(0xFF)})")


def test_malformed_json_reports_line_and_column() -> None:
    code, path, message = only(facts_error('{\n  "data_domanda": "2024-09-10",\n}'))
    assert (code, path) == ("F001", "$")
    assert message == "not valid JSON: Expecting property name enclosed in double quotes at line 3, column 1"


def test_facts_must_be_an_object() -> None:
    code, path, message = only(facts_error("[1, 2]"))
    assert (code, path, message) == ("F002", "$", "the facts must be a JSON object, got an array")
