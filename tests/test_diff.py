"""``regole diff``: the semantic diff of ISCRO 2021 → 2024 shows each change the law made (matched by id and
name, not by text lines), a version compared with itself is empty, and every format and exit code."""

from __future__ import annotations

import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import cli

from engine import LawVersion, load_ruleset
from engine._diff import SECTIONS, Change, VersionDiff, diff_versions, skeleton
from engine._diff_render import render_diff
from engine._expr import parse_expression
from engine._resources import rulesets_dir
from engine.cli import main

pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording

INVALID = Path(__file__).resolve().parent / "invalid_rulesets"




@pytest.fixture(scope="module")
def diff(laws: dict[str, LawVersion]) -> VersionDiff:
    return diff_versions(laws["2021"], laws["2024"])


def values(change: Change, side: str) -> list[object]:
    described = change.old if side == "old" else change.new
    assert described is not None
    return [v["value"] for v in described["values"]]


# ---------------------------------------------------------------------------------------------------------------
# What the 2024 reform changed


def test_percentuale_calo_goes_from_50_to_70_percent(diff: VersionDiff) -> None:
    change = diff.find("parameters", "percentuale_calo")
    assert change.status == "changed"
    assert "value" in change.aspects
    assert (values(change, "old"), values(change, "new")) == (["0.50"], ["0.70"])
    row = change.extra["rows"][0]
    assert row["old"]["sources"] == ["L. 178/2020, art. 1, c. 388, lett. c)"]
    assert row["new"]["sources"] == ["L. 213/2023, art. 1, c. 144, lett. c)"]


def test_average_of_three_years_becomes_two(diff: VersionDiff) -> None:
    change = diff.find("derived", "media_redditi")
    assert "formula" in change.aspects
    assert change.old is not None
    assert change.new is not None
    assert change.old["formula"] == ("media(reddito_primo_anno_media, reddito_secondo_anno_media, "
                                     "reddito_terzo_anno_media)")
    assert change.new["formula"] == "media(reddito_primo_anno_media, reddito_secondo_anno_media)"
    assert diff.find("derived", "reddito_terzo_anno_media").status == "removed"


def test_ceiling_8145_becomes_12000_with_every_yearly_value(diff: VersionDiff) -> None:
    change = diff.find("parameters", "soglia_reddito")
    assert values(change, "old") == ["8145.00", "8299.76", "8972.04"]
    assert values(change, "new") == ["12000.00", "12648.00", "12749.18"]
    first = change.extra["rows"][0]
    assert (first["old"]["from"], first["old"]["value"], first["new"]["from"], first["new"]["value"]) == \
        ("2021-01-01", "8145.00", "2024-01-01", "12000.00")
    assert change.extra["rows"][2]["new"]["unconfirmed"]  # 2026: one secondary source only


def test_years_of_partita_iva_go_from_4_to_3(diff: VersionDiff) -> None:
    change = diff.find("parameters", "anni_partita_iva")
    assert (values(change, "old"), values(change, "new")) == ([4], [3])
    requirement = diff.find("requirements", "requisito.partita_iva")
    assert "inputs" in requirement.aspects
    assert "condition" not in requirement.aspects
    assert requirement.extra["inputs_changed"] == ["anni_partita_iva"]
    assert requirement.old is not None
    assert requirement.new is not None
    assert (requirement.old["title"], requirement.new["title"]) == ("Partita IVA attiva da almeno 4 anni",
                                                                    "Partita IVA attiva da almeno 3 anni")


def test_amount_base_goes_from_last_income_to_the_average(diff: VersionDiff) -> None:
    change = diff.find("computations", "importo_calcolato")
    assert change.old is not None
    assert change.new is not None
    assert change.old["formula"] == "arrotonda((base_importo / 2) * percentuale_importo, 2)"
    assert change.new["formula"] == "arrotonda((media_redditi / 2) * percentuale_importo, 2)"
    assert diff.find("derived", "base_importo").status == "removed"
    assert diff.find("facts", "ultimo_reddito_certificato").status == "removed"


def test_once_in_the_triennium_becomes_not_within_two_years(diff: VersionDiff) -> None:
    change = diff.find("requirements", "requisito.iscro_precedente")
    assert {"condition", "title"} <= set(change.aspects)
    assert change.old is not None
    assert change.new is not None
    assert "primo_anno_triennio" in change.old["condition"]
    assert "ultimo_anno_triennio" in change.old["condition"]
    assert change.new["condition"] == ("nessuno(p in prestazioni_iscro_precedenti: anno(p.data_inizio) >= "
                                       "(anno_domanda - anni_esclusione))")
    assert diff.find("parameters", "anni_esclusione").status == "added"
    assert values(diff.find("parameters", "anni_esclusione"), "new") == [2]
    assert {diff.find("parameters", p).status for p in ("primo_anno_triennio", "ultimo_anno_triennio")} == {"removed"}


def test_reddito_di_cittadinanza_is_paired_with_assegno_di_inclusione(diff: VersionDiff) -> None:
    change = diff.find("requirements", "requisito.assegno_inclusione")
    assert (change.status, change.old_id, change.new_id) == ("renamed", "requisito.reddito_cittadinanza",
                                                             "requisito.assegno_inclusione")
    assert change.note == "renamed: same position and the same condition with other names: not …"
    assert change.old is not None
    assert change.new is not None
    assert (change.old["condition"], change.new["condition"]) == ("not percettore_reddito_cittadinanza",
                                                                  "not percettore_assegno_inclusione")
    assert change.old["sources"] == ["L. 178/2020, art. 1, c. 388, lett. b)", "Circ. INPS n. 94/2021, par. 2.2.2"]
    assert change.new["sources"] == ["L. 213/2023, art. 1, c. 144, lett. b)"]
    assert diff.find("facts", "percettore_reddito_cittadinanza").note == (
        "replaced by percettore_assegno_inclusione in requisito.assegno_inclusione "
        "(was requisito.reddito_cittadinanza)")
    assert diff.find("notes", "cessazione.assegno_inclusione").status == "renamed"


def test_without_pairing_the_rename_is_removed_plus_added_with_a_note(laws: dict[str, LawVersion]) -> None:
    diff = diff_versions(laws["2021"], laws["2024"], pair_renames=False)
    removed = diff.find("requirements", "requisito.reddito_cittadinanza")
    added = diff.find("requirements", "requisito.assegno_inclusione")
    assert (removed.status, added.status) == ("removed", "added")
    assert removed.note is not None
    assert "requisito.assegno_inclusione" in removed.note
    assert added.note is not None
    assert "requisito.reddito_cittadinanza" in added.note


def test_not_taxable_becomes_taxable(diff: VersionDiff) -> None:
    change = diff.find("parameters", "imponibile")
    assert (values(change, "old"), values(change, "new")) == ([False], [True])
    assert diff.find("computations", "imponibile_fiscale").extra["inputs_changed"] == ["imponibile"]
    note = diff.find("notes", "fisco.imponibile")
    assert (note.status, note.old_id) == ("renamed", "fisco.non_imponibile")


def test_application_windows(diff: VersionDiff) -> None:
    change = diff.find("parameters", "apertura_finestra")
    assert values(change, "old") == ["2021-07-01", "2022-05-01", "2023-05-08"]
    assert values(change, "new") == ["2024-08-01", "2025-06-16", None]
    requirement = diff.find("requirements", "requisito.finestra_domanda")
    assert "condition" in requirement.aspects
    assert requirement.new is not None
    assert "definito(apertura_finestra)" in requirement.new["condition"]


def test_version_period_facts_and_sources(diff: VersionDiff) -> None:
    period = diff.find("version", "period")
    assert period.old == {"value": "2021-01-01 – 2023-12-31"}
    assert period.new == {"value": "2024-01-01 – …"}
    added_facts = {c.id for c in diff.section("facts") if c.status == "added"}
    assert added_facts == {"percettore_assegno_inclusione", "percettore_alas", "percettore_idis",
                           "carica_elettiva_con_emolumenti"}
    assert diff.find("sources", "l213_c144_c").status == "added"
    assert diff.find("sources", "l178_c388_c").status == "removed"
    assert diff.alignment == "position"


def test_unchanged_requirements_show_their_condition_and_both_sources(diff: VersionDiff) -> None:
    change = diff.find("requirements", "requisito.calo_reddito")
    assert "condition" not in change.aspects
    assert "percentuale_calo" in change.extra["inputs_changed"]
    condition = next(f for f in change.facets if f.name == "condition")
    assert not condition.changed
    assert condition.old == ("reddito_anno_riferimento < soglia_calo",)


def test_a_version_compared_with_itself_is_empty(laws: dict[str, LawVersion]) -> None:
    for law in laws.values():
        same = diff_versions(law, law)
        assert same.same
        assert same.changes == ()
        assert same.to_dict()["changes"] == {s: [] for s in SECTIONS}


def test_the_same_file_loaded_twice_is_empty(laws: dict[str, LawVersion]) -> None:
    assert diff_versions(laws["2024"], load_ruleset(rulesets_dir() / "iscro" / "2024.yaml")).same


# ---------------------------------------------------------------------------------------------------------------
# Two edits of one regime: values aligned by date


def edited_2024(tmp_path: Path, *replacements: tuple[str, str]) -> LawVersion:
    text = (rulesets_dir() / "iscro" / "2024.yaml").read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "2024.yaml"
    path.write_text(text, encoding="utf-8")
    return load_ruleset(path)


def test_overlapping_versions_align_dated_values_by_date(laws: dict[str, LawVersion], tmp_path: Path) -> None:
    edited = edited_2024(tmp_path, ('value: "12648.00"', 'value: "12700.00"'))
    diff = diff_versions(laws["2024"], edited)
    assert diff.alignment == "date"
    assert [(c.id, c.aspects) for c in diff.changes] == [("soglia_reddito", ("value",)),
                                                         ("requisito.soglia_reddito", ("inputs",))]
    rows = diff.find("parameters", "soglia_reddito").extra["rows"]
    changed = [r for r in rows if r["aspects"]]
    assert [(r["from"], r["to"], r["old"]["value"], r["new"]["value"]) for r in changed] == \
        [("2025-01-01", "2025-12-31", "12648.00", "12700.00")]


def test_an_added_requirement_with_another_structure_is_not_a_rename(laws: dict[str, LawVersion],
                                                                      tmp_path: Path) -> None:
    edited = edited_2024(tmp_path, ("  - id: requisito.assegno_inclusione\n    title: Nessun Assegno di inclusione\n"
                                    "    condition: not percettore_assegno_inclusione",
                                    "  - id: requisito.nuovo\n    title: Qualcosa di diverso\n"
                                    "    condition: anni_partita_iva_compiuti >= 1 and "
                                    "not percettore_assegno_inclusione"))
    diff = diff_versions(laws["2024"], edited)
    removed = diff.find("requirements", "requisito.assegno_inclusione")
    added = diff.find("requirements", "requisito.nuovo")
    assert (removed.status, added.status) == ("removed", "added")
    assert removed.note == "not paired with requisito.nuovo as a rename: same position only"


def test_skeleton_abstracts_names_but_keeps_literals() -> None:
    assert skeleton(parse_expression("not percettore_naspi")) == "not …"
    assert skeleton(parse_expression("a >= b * 70%")) == skeleton(parse_expression("x >= y * 70%"))
    assert skeleton(parse_expression("a >= b * 70%")) != skeleton(parse_expression("a >= b * 50%"))
    assert skeleton(parse_expression("nessuno(p in l: anno(p.data) >= 2)")) == "nessuno(… in …: anno(….…) >= 2)"


# ---------------------------------------------------------------------------------------------------------------
# Formats and exit codes


def test_cli_text_shows_the_reform(diff: VersionDiff) -> None:
    code, out, err = cli("diff", "iscro@2021", "iscro@2024")
    assert (code, err) == (1, "")
    assert "\033[" not in out  # not a terminal: no colours
    expected = [
        "- value: 1 Jan 2021 – …  0.50  [L. 178/2020, art. 1, c. 388, lett. c)]",
        "+ value: 1 Jan 2024 – …  0.70  [L. 213/2023, art. 1, c. 144, lett. c)]",
        "- value: 1 Jan 2021 – 31 Dec 2021  8,145.00  [L. 178/2020, art. 1, c. 388, lett. d)]",
        "+ value: 1 Jan 2024 – 31 Dec 2024  12,000.00  [L. 213/2023, art. 1, c. 144, lett. d)]",
        "- formula: media(reddito_primo_anno_media, reddito_secondo_anno_media, reddito_terzo_anno_media)",
        "+ formula: arrotonda((media_redditi / 2) * percentuale_importo, 2)",
        "~ requisito.reddito_cittadinanza → requisito.assegno_inclusione  Nessun Assegno di inclusione",
        "- value: 1 Jan 2021 – …  false  [L. 178/2020, art. 1, cc. 386-401]",
        "+ value: 1 Jan 2024 – …  true  [Circ. INPS n. 84/2024]",
        "+ value: 1 Jan 2024 – 31 Dec 2024  1 Aug 2024  [Circ. INPS n. 84/2024]",
        "= condition: reddito_anno_riferimento < soglia_calo",
    ]
    for line in expected:
        assert line in out, line
    assert out.splitlines()[4:] == render_diff(diff, "text").splitlines()[4:]  # the CLI renders the same diff


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_colours_only_when_asked_or_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli("diff", "iscro@2021", "iscro@2024", "--color", "always")
    assert code == 1
    assert "\033[32m" in out
    assert "\033[31m" in out
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = Terminal()
    assert main(["diff", "iscro@2021", "iscro@2024"], stdout=terminal, stderr=io.StringIO()) == 1
    assert "\033[32m      + value: 1 Jan 2024 – …  0.70" in terminal.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()
    main(["diff", "iscro@2021", "iscro@2024"], stdout=terminal, stderr=io.StringIO())
    assert "\033[" not in terminal.getvalue()


def test_cli_same_version_exits_0() -> None:
    for fmt in ("text", "markdown", "html", "json"):
        code, out, err = cli("diff", "iscro@2024", str(rulesets_dir() / "iscro" / "2024.yaml"), "--format", fmt)
        assert (code, err) == (0, "")
        if fmt == "json":
            assert json.loads(out)["same"] is True
        else:
            assert "No differences." in out


def test_cli_trouble_exits_2(tmp_path: Path) -> None:
    code, out, err = cli("diff", "iscro@2021", "iscro@2099")
    assert (code, out) == (2, "")
    assert "no version '2099'" in err
    broken = tmp_path / "broken.yaml"
    shutil.copy(INVALID / "x003_misspelt_fact.yaml", broken)
    code, out, err = cli("diff", "iscro@2024", str(broken))
    assert (code, out) == (2, "")
    assert f"{broken}:" in err
    code, _, _ = cli("diff", "iscro@2024")  # a missing argument is trouble too
    assert code == 2


def test_json_structure_is_the_documented_one() -> None:
    code, out, _ = cli("diff", "iscro@2021", "iscro@2024", "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert set(data) == {"format", "format_version", "old", "new", "same", "alignment", "summary", "changes"}
    assert (data["format"], data["format_version"], data["same"]) == ("regole-diff", 1, False)
    assert set(data["old"]) == {"key", "family", "version", "title", "path", "sha256", "valid_from", "valid_to",
                                "selected_by"}
    assert list(data["changes"]) == list(SECTIONS)
    assert data["summary"]["requirements"] == {"changed": 10, "renamed": 1, "removed": 0, "added": 0}
    for section, changes in data["changes"].items():
        for change in changes:
            assert {"status", "id", "old_id", "new_id", "label", "aspects", "note", "old", "new"} <= set(change)
            assert change["status"] in ("changed", "renamed", "removed", "added"), section
    renamed = next(c for c in data["changes"]["requirements"] if c["status"] == "renamed")
    assert (renamed["old_id"], renamed["new_id"]) == ("requisito.reddito_cittadinanza", "requisito.assegno_inclusione")


def test_markdown_has_a_table_per_section() -> None:
    code, out, _ = cli("diff", "iscro@2021", "iscro@2024", "--format", "markdown")
    assert code == 1
    assert out.startswith("# Semantic diff: iscro@2021 → iscro@2024\n")
    assert "## Parameters (9 changed, 2 removed, 1 added)" in out
    assert re.search(r"\| changed \| `percentuale_calo`.*0\.50.*\| .*0\.70", out)
    assert "| renamed | `requisito.reddito_cittadinanza → requisito.assegno_inclusione`" in out


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ("meta", "br"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open, tag
        assert self.open[-1] == tag, (self.open[-3:], tag)
        self.open.pop()


def test_html_is_a_self_contained_well_formed_page() -> None:
    code, out, _ = cli("diff", "iscro@2021", "iscro@2024", "--format", "html")
    assert code == 1
    parser = _Tags()
    parser.feed(out)
    assert parser.open == []
    assert "script" not in parser.tags
    assert "link" not in parser.tags
    assert "img" not in parser.tags
    assert "requisito.reddito_cittadinanza → requisito.assegno_inclusione" in out
    assert "reddito_anno_riferimento &lt; soglia_calo" in out
