"""``regole impact``: the tallies of a small population checked by hand, the same file as JSON Lines and as
CSV, bad rows reported with their number and field while the rest is counted, the fast row check agreeing
with the facts schema, the HTML report, JSON, and the progress indicator only on a terminal."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import random
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_2024, cli

from engine import FactsError, LawVersion
from engine._dataset import FactTable, read_rows
from engine._facts import validate_facts
from engine._impact import Impact, measure_impact, render_impact
from engine._impact_report import render_impact_html
from engine._population import load_population
from engine._resources import rulesets_dir

pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording

# ---------------------------------------------------------------------------------------------------------------
# Six applications of 10 September 2024, worked out by hand.
#
# Under 2021 (applied to a 2024 date) the parameters are the last ones of the triennium: half of the 3-year
# average (2020-2022), ceiling 8.972,04 €, amount 25% of half the 2023 income within 275,38 – 881,23 €.
# Under 2024: 70% of the 2-year average (2021-2022), ceiling 12.000 €, amount 25% of half the average
# within 250 – 800 €. Six months each.
#
# row 1  incomes 6.000 / 6.000 / 5.000 / 3.000 (2020-2023)
#        2021: average 5.666,67, half 2.833,33: 3.000 is no fall → respinto (calo_reddito)
#        2024: average 5.500, 70% 3.850: a fall → ammesso, 5.500 / 2 × 25% = 687,50 € a month, 4.125,00 €
# row 2  incomes 10.000 / 10.000 / 10.000 / 3.000, receives the Assegno di inclusione
#        2021: half of 10.000 is 5.000 → ammesso, 3.000 / 2 × 25% = 375,00 € a month, 2.250,00 €
#        2024: respinto (assegno_inclusione, the first requirement that fails)
# row 3  incomes 20.000 / 20.000 / 20.000 / 4.000
#        2021: ammesso, 4.000 / 2 × 25% = 500,00 € a month, 3.000,00 €
#        2024: ammesso, 20.000 / 2 × 25% = 2.500 → the maximum, 800,00 € a month, 4.800,00 €
# row 4  like row 3, but holds a direct pension → respinto under both (pensione_diretta)
# row 5  like row 3, but regolarita_contributiva is not given → indeterminato under both
# row 6  a bad amount, "3.000,00" → reported (row 6, reddito_lavoro_autonomo.2023) and skipped
#
# Expected: read 6, evaluated 5, bad 1.
#            ammesso  respinto  indeterminato   importo_mensile total / average   importo_totale total
#   2021        2        2           1              875,00 / 437,50                   5.250,00
#   2024        2        2           1            1.487,50 / 743,75                   8.925,00
#   gains 1 (row 1), losses 1 (row 2)

BASE: dict[str, Any] = {**BASE_2024, "percettore_reddito_cittadinanza": False, "titolare_ape_sociale": False,
                        "reddito_dichiarato": {"2023": "3000.00"}}


def row(incomes: tuple[str, str, str, str], **changes: Any) -> dict[str, Any]:
    facts = copy.deepcopy(BASE)
    facts["reddito_lavoro_autonomo"] = dict(zip(("2020", "2021", "2022", "2023"), incomes, strict=True))
    facts["reddito_dichiarato"] = {"2023": incomes[3]}
    for key, value in changes.items():
        if value is None:
            facts.pop(key)
        else:
            facts[key] = value
    return facts


ROWS = [
    row(("6000.00", "6000.00", "5000.00", "3000.00")),
    row(("10000.00", "10000.00", "10000.00", "3000.00"), percettore_assegno_inclusione=True),
    row(("20000.00", "20000.00", "20000.00", "4000.00")),
    row(("20000.00", "20000.00", "20000.00", "4000.00"), titolare_pensione_diretta=True),
    row(("20000.00", "20000.00", "20000.00", "4000.00"), regolarita_contributiva=None),
    row(("20000.00", "20000.00", "20000.00", "3.000,00"), reddito_dichiarato={"2023": "3000.00"}),
]

CSV_COLUMNS = ("data_domanda,iscritto_gestione_separata,titolare_pensione_diretta,assicurato_altra_forma_obbligatoria,"
               "percettore_reddito_cittadinanza,percettore_assegno_inclusione,percettore_naspi,percettore_dis_coll,"
               "percettore_alas,percettore_idis,titolare_ape_sociale,carica_elettiva_con_emolumenti,"
               "regolarita_contributiva,data_apertura_partita_iva,reddito_lavoro_autonomo.2020,"
               "reddito_lavoro_autonomo.2021,reddito_lavoro_autonomo.2022,reddito_lavoro_autonomo.2023,"
               "reddito_dichiarato.2023,prestazioni_iscro_precedenti.1.data_inizio")
# The same six applications as CSV (line 1 is the header, so the applications are rows 2-7).
CSV = "\n".join([
    CSV_COLUMNS,
    "2024-09-10,true,false,false,false,false,false,false,false,false,false,false,true,2015-03-01,6000.00,6000.00,5000.00,3000.00,3000.00,",
    "2024-09-10,true,false,false,false,true,false,false,false,false,false,false,true,2015-03-01,10000.00,10000.00,10000.00,3000.00,3000.00,",
    "2024-09-10,true,false,false,false,false,false,false,false,false,false,false,true,2015-03-01,20000.00,20000.00,20000.00,4000.00,4000.00,",
    "2024-09-10,true,true,false,false,false,false,false,false,false,false,false,true,2015-03-01,20000.00,20000.00,20000.00,4000.00,4000.00,",
    "2024-09-10,true,false,false,false,false,false,false,false,false,false,false,,2015-03-01,20000.00,20000.00,20000.00,4000.00,4000.00,",
    '2024-09-10,true,false,false,false,false,false,false,false,false,false,false,true,2015-03-01,20000.00,20000.00,20000.00,"3.000,00",3000.00,',
]) + "\n"




@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "domande.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def impact_of(path: Path, laws: dict[str, LawVersion], fmt: str, **kwargs: Any) -> Impact:
    table = FactTable([laws["2021"], laws["2024"]])
    return measure_impact(read_rows(path, table, fmt), laws["2021"], laws["2024"], source=str(path), fmt=fmt,
                          **kwargs)


def check_hand_computed(impact: Impact) -> None:
    assert (impact.rows_read, impact.evaluated, impact.bad_rows) == (6, 5, 1)
    assert dict(impact.a.decisions) == {"ammesso": 2, "respinto": 2, "indeterminato": 1}
    assert dict(impact.b.decisions) == {"ammesso": 2, "respinto": 2, "indeterminato": 1}
    assert (impact.gains, impact.losses) == (1, 1)
    assert dict(impact.transitions) == {("respinto", "ammesso"): 1, ("ammesso", "respinto"): 1,
                                        ("ammesso", "ammesso"): 1, ("respinto", "respinto"): 1,
                                        ("indeterminato", "indeterminato"): 1}
    assert impact.a.totals == {"importo_mensile": Decimal("875.00"), "importo_totale": Decimal("5250.00")}
    assert impact.b.totals == {"importo_mensile": Decimal("1487.50"), "importo_totale": Decimal("8925.00")}
    assert (impact.a.average("importo_mensile"), impact.b.average("importo_mensile")) == (Decimal("437.50"),
                                                                                         Decimal("743.75"))
    assert sorted(impact.a.amounts) == [Decimal("375.00"), Decimal("500.00")]
    assert sorted(impact.b.amounts) == [Decimal("687.50"), Decimal("800.00")]
    assert dict(impact.a.first_failure) == {"requisito.calo_reddito": 1, "requisito.pensione_diretta": 1}
    assert dict(impact.b.first_failure) == {"requisito.assegno_inclusione": 1, "requisito.pensione_diretta": 1}
    assert dict(impact.a.missing_facts) == {"regolarita_contributiva": 1}


def test_hand_computed_population_jsonl(jsonl: Path, laws: dict[str, LawVersion]) -> None:
    impact = impact_of(jsonl, laws, "jsonl")
    check_hand_computed(impact)
    assert len(impact.problems) == 1
    problem = impact.problems[0]
    assert (problem.row, problem.field) == (6, "reddito_lavoro_autonomo.2023")
    assert "3.000,00" in problem.message


def test_hand_computed_population_csv(tmp_path: Path, laws: dict[str, LawVersion]) -> None:
    path = tmp_path / "domande.csv"
    path.write_text(CSV, encoding="utf-8")
    impact = impact_of(path, laws, "csv")
    check_hand_computed(impact)
    problem = impact.problems[0]
    assert (problem.row, problem.field) == (7, "reddito_lavoro_autonomo.2023")  # the spreadsheet's row 7


def test_csv_rows_are_the_json_rows(tmp_path: Path, laws: dict[str, LawVersion]) -> None:
    path = tmp_path / "domande.csv"
    path.write_text(CSV, encoding="utf-8")
    table = FactTable([laws["2021"], laws["2024"]])
    rows = [r.facts for r in read_rows(path, table, "csv")]
    assert rows[:5] == [{**r, "prestazioni_iscro_precedenti": []} for r in ROWS[:5]]


def test_full_trace_gives_the_same_figures(laws: dict[str, LawVersion], tmp_path: Path) -> None:
    spec = load_population(rulesets_dir() / "iscro" / "population" / "default.yaml")
    path = tmp_path / "popolazione.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in spec.applications(400, 3)), encoding="utf-8")
    fast = impact_of(path, laws, "jsonl").to_dict()
    traced = impact_of(path, laws, "jsonl", full_trace=True).to_dict()
    fast.pop("seconds")
    traced.pop("seconds")
    assert fast == traced
    assert fast["a"]["decisions"]["ammesso"] > 0
    assert fast["gains"] > 0
    assert fast["losses"] > 0


# ---------------------------------------------------------------------------------------------------------------
# Bad rows


def test_every_kind_of_bad_row_is_reported_and_the_rest_counted(tmp_path: Path, laws: dict[str, LawVersion]) -> None:
    good = json.dumps(ROWS[0])
    lines = [
        good,
        "{not json",
        json.dumps({**ROWS[0], "redito_dichiarato": {"2023": "1.00"}}),
        json.dumps({**ROWS[0], "data_domanda": "2024-02-30"}),
        "",  # blank lines are skipped, but still counted as lines
        json.dumps({**ROWS[0], "iscritto_gestione_separata": "yes"}),
        json.dumps([1, 2]),
        json.dumps({**ROWS[0], "prestazioni_iscro_precedenti": [{"data_inizio": "ieri"}]}),
        json.dumps({**ROWS[0], "reddito_dichiarato": {"23": "1.00"}}),
        good,
    ]
    path = tmp_path / "domande.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    impact = impact_of(path, laws, "jsonl")
    assert (impact.rows_read, impact.evaluated, impact.bad_rows) == (9, 2, 7)
    found = [(p.row, p.field) for p in impact.problems]
    assert found == [(2, None), (3, "redito_dichiarato"), (4, "data_domanda"), (6, "iscritto_gestione_separata"),
                     (7, None), (8, "prestazioni_iscro_precedenti[0].data_inizio"), (9, "reddito_dichiarato.23")]
    assert "did you mean 'reddito_dichiarato'" in impact.problems[1].message
    text = render_impact(impact)
    assert "bad rows: 7 (each skipped; the first ones below)" in text
    assert "row 4, data_domanda:" in text


def test_bad_csv_cells_name_their_column(tmp_path: Path, laws: dict[str, LawVersion]) -> None:
    lines = CSV.splitlines()
    lines[1] = lines[1].replace("2024-09-10,true,", "2024-09-10,yes,", 1)
    lines[2] = lines[2] + ",extra"
    lines[3] = lines[3] + "2024-13-01"
    path = tmp_path / "domande.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    impact = impact_of(path, laws, "csv")
    assert [(p.row, p.field) for p in impact.problems] == [
        (2, "iscritto_gestione_separata"), (3, None), (4, "prestazioni_iscro_precedenti.1.data_inizio"),
        (7, "reddito_lavoro_autonomo.2023")]
    assert "'yes' is not a boolean: write true or false" in impact.problems[0].message
    assert impact.evaluated == 2


def test_a_csv_column_that_is_not_a_fact_stops_before_reading(tmp_path: Path, laws: dict[str, LawVersion]) -> None:
    path = tmp_path / "domande.csv"
    path.write_text(CSV.replace("reddito_dichiarato.2023", "reddito_dichiarato_2023"), encoding="utf-8")
    with pytest.raises(FactsError) as caught:
        impact_of(path, laws, "csv")
    assert "column 'reddito_dichiarato_2023' is not a fact" in str(caught.value)
    code, _, err = cli("impact", str(path), "--versions", "2021,2024")
    assert code == 3
    assert "reddito_dichiarato_2023" in err


def mutations(facts: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A copy of ``facts`` with one random change, valid or not."""
    out = copy.deepcopy(facts)
    choice = rng.randrange(10)
    if choice == 0:
        out["reddito_lavoro_autonomo"] = {**out.get("reddito_lavoro_autonomo", {}), "2023": rng.choice(
            ["1.234", "1,00", "12.5", "-3.00", Decimal("1.005"), Decimal("7"), 5, True, None, "1e3"])}
    elif choice == 1:
        out["data_domanda"] = rng.choice(["2024-02-29", "2023-02-29", "2024-1-05", 20240105, "2024-09-10"])
    elif choice == 2:
        out[rng.choice(["nome", "percettore_naspi", "regolarita"])] = rng.choice([True, "true", 1, None])
    elif choice == 3:
        out["prestazioni_iscro_precedenti"] = rng.choice([[], [{}], [{"data_inizio": "2022-05-01"}],
                                                          [{"data_inizio": "2022-05-01", "x": 1}], "none",
                                                          [{"data_inizio": "2022-05-01"}] * 51])
    elif choice == 4:
        out["reddito_dichiarato"] = rng.choice([{"1899": "1.00"}, {"2023": "1.00"}, [], {"2023": None}])
    elif choice == 5:
        out.pop("data_domanda", None)
    elif choice == 6:
        out["ultimo_reddito_certificato"] = rng.choice(["100.00", "100.001", Decimal("100.10"), "abc"])
    elif choice == 7:
        out["titolare_assegno_ordinario_invalidita"] = rng.choice([True, False, "false", 0])
    return out


def test_the_fast_row_check_agrees_with_the_facts_schema(laws: dict[str, LawVersion]) -> None:
    spec = load_population(rulesets_dir() / "iscro" / "population" / "default.yaml")
    table = FactTable([laws["2021"], laws["2024"]])
    rng = random.Random(5)
    checked = 0
    for facts in spec.applications(300, 11):
        for _ in range(4):
            mutated = mutations(facts, rng)
            try:
                validate_facts(mutated, "iscro-domanda.schema.json")
                valid = True
            except FactsError:
                valid = False
            row = table.check(1, mutated)
            assert (row.facts is not None) == valid, (mutated, row.problems)
            checked += 1
    assert checked == 1200


# ---------------------------------------------------------------------------------------------------------------
# Command line, JSON, HTML, progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_text_json_and_report(jsonl: Path, tmp_path: Path) -> None:
    report = tmp_path / "impatto.html"
    code, out, err = cli("impact", str(jsonl), "--versions", "2021,2024", "--report", str(report))
    assert code == 0
    assert out.startswith(f"regole impact {jsonl}: iscro@2021 → iscro@2024\n")
    assert "gained eligibility (admitted under B only)" in out
    lines = {line.split("  ")[1].strip(): line for line in out.splitlines()
             if line.startswith("  ") and "  " in line[2:]}
    assert lines["importo_mensile, total"].split()[-3:] == ["€875.00", "€1,487.50", "+€612.50"]
    assert "\r" not in err  # standard error is not a terminal: no progress
    assert "1 bad rows skipped; the first: row 6, reddito_lavoro_autonomo.2023" in err
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 4
    assert "<script" not in page

    code, out, _ = cli("impact", str(jsonl), "--versions", "iscro@2021,iscro@2024", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["format"] == "regole-impact"
    assert data["rows"] == {"read": 6, "evaluated": 5, "bad": 1}
    assert data["a"]["amounts"]["importo_mensile"] == {"total": "875.00", "average": "437.50"}
    assert data["b"]["amounts"]["importo_totale"] == {"total": "8925.00", "average": "4462.50"}
    assert data["amount_changes"]["importo_mensile"] == {"total": "612.50", "average": "306.25"}
    assert data["transitions"]["respinto"]["ammesso"] == 1
    assert (data["gains"], data["losses"]) == (1, 1)
    assert data["problems"] == [{"row": 6, "field": "reddito_lavoro_autonomo.2023",
                                 "message": data["problems"][0]["message"]}]


def test_progress_only_on_a_terminal(jsonl: Path) -> None:
    terminal = Terminal()
    code, _, err = cli("impact", str(jsonl), "--versions", "2021,2024", stderr=terminal)
    assert code == 0
    assert "\r  6 / 6 (100%) rows" in err


def test_html_report_is_well_formed(jsonl: Path, laws: dict[str, LawVersion]) -> None:
    page = render_impact_html(impact_of(jsonl, laws, "jsonl"))
    stack: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag not in ("meta", "br"):
                stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            assert stack.pop() == tag

    Tags().feed(page)
    assert stack == []
    assert "transition matrix of decisions" in page
    assert "distribution of importo_mensile" in page
    assert "reddito_lavoro_autonomo.2023" in page  # the bad row is listed


def test_parquet_flat_and_nested(tmp_path: Path, laws: dict[str, LawVersion]) -> None:
    """The hand-computed rows as Parquet (pyarrow is optional for users, installed with the dev extras)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    columns = CSV_COLUMNS.split(",")
    cells = [dict(zip(columns, line.split(","), strict=True)) for line in CSV.splitlines()[1:6]]

    def typed(column: str, text: str) -> Any:
        if not text:
            return None
        if text in ("true", "false"):
            return text == "true"
        if column.startswith(("data_", "prestazioni")):
            return dt.date.fromisoformat(text)
        return Decimal(text) if column.startswith("reddito_lavoro") else float(text)  # floats are read too

    data = {c: [typed(c, row[c]) for row in cells] for c in columns}
    data["prestazioni_iscro_precedenti.1.data_inizio"] = pa.array([None] * 5, type=pa.date32())
    flat = tmp_path / "domande.parquet"
    pq.write_table(pa.table(data), str(flat))
    impact = impact_of(flat, laws, "parquet")
    assert impact.a.totals == {"importo_mensile": Decimal("875.00"), "importo_totale": Decimal("5250.00")}
    assert impact.b.totals == {"importo_mensile": Decimal("1487.50"), "importo_totale": Decimal("8925.00")}
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({
        "data_domanda": [dt.date(2024, 9, 10)] * 2,
        "reddito_lavoro_autonomo": pa.array([[("2023", "3000.00")], [("2023", "1.005")]],
                                            type=pa.map_(pa.string(), pa.string())),
        "prestazioni_iscro_precedenti": [[{"data_inizio": dt.date(2020, 1, 1)}], []],
    }), str(nested))
    rows = list(read_rows(nested, FactTable([laws["2021"], laws["2024"]]), "parquet"))
    assert rows[0].facts == {"data_domanda": "2024-09-10", "reddito_lavoro_autonomo": {"2023": "3000.00"},
                             "prestazioni_iscro_precedenti": [{"data_inizio": "2020-01-01"}]}
    assert [(p.row, p.field) for p in rows[1].problems] == [(2, "reddito_lavoro_autonomo.2023")]


def test_unknown_amount_and_versions_of_two_families(jsonl: Path) -> None:
    code, _, err = cli("impact", str(jsonl), "--versions", "2021,2024", "--amount", "importo")
    assert code == 5
    assert "--amount importo" in err
    code, _, err = cli("impact", str(jsonl / "missing.jsonl"), "--versions", "2021,2024")
    assert code == 3
