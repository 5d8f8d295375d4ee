"""regole facts-template: every field of the family's facts schema, with a placeholder and what it is; with only
the selecting date kept (filled in) the document evaluates to indeterminato and lists every fact it lacks."""

from __future__ import annotations

import io
import json
import re

import pytest

from engine import evaluate
from engine._facts_template import facts_template
from engine._run import default_library
from engine._schema import load_schema
from engine.cli import main
from engine.errors import FactsError


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def without_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


@pytest.mark.parametrize(("family", "day"), [
    ("iscro", "2022-05-02"), ("iscro", "2024-09-10"),
    ("cig-covid", "2021-02-01"), ("cig-covid", "2021-05-03"),
])
def test_only_the_selecting_date_filled_in_is_indeterminato_listing_every_fact(family: str, day: str) -> None:
    code, out, err = cli("facts-template", "--family", family)
    assert (code, err) == (0, "")
    template = json.loads(without_comments(out))
    library = default_library()
    laws = library.versions(family)
    schema = load_schema(laws[0].facts_schema)
    assert set(template) == set(schema["properties"])  # every field of the schema
    selecting = laws[0].selected_by
    assert next(iter(template)) == selecting  # the one to fill in first
    result = evaluate({selecting: day}, family=family, library=library)  # every placeholder removed
    assert result.decision == "indeterminato"
    law = library.select(family, result.selecting_date)
    read = {name for r in result.requirements for name in r.values}  # every value the decision depends on
    needed = {name for name, fact in law.facts.items() if name in read and not fact.optional} - {selecting}
    assert needed
    assert set(result.missing_facts) == needed  # every fact the decision needs is listed
    assert needed <= set(template)


@pytest.mark.parametrize("family", ["iscro", "cig-covid"])
def test_every_field_has_a_comment_with_what_it_is_and_a_typed_placeholder(family: str) -> None:
    text = facts_template(default_library().versions(family), lang="it")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        field = re.match(r'  "(\w+)": ', line)
        if field:
            comment = lines[i - 1].strip()
            assert comment.startswith(f"// {field.group(1)}: "), (line, comment)
            assert " — " in comment  # the label, then the type
    plain = json.loads(facts_template(default_library().versions(family), comments=False))
    assert all(isinstance(v, bool) for k, v in plain.items() if "vero o falso" in text.split(f"// {k}:")[1]
               .splitlines()[0])


def test_placeholders_left_in_are_refused_with_their_path() -> None:
    template = json.loads(facts_template(default_library().versions("iscro"), comments=False))
    with pytest.raises(FactsError) as caught:
        evaluate(template, family="iscro")
    assert "data_domanda" in str(caught.value)


def test_english_uses_the_schema_descriptions() -> None:
    code, out, _ = cli("facts-template", "--family", "iscro", "--lang", "en")
    assert code == 0
    assert "// data_domanda: Date the application was submitted" in out
    assert "required: it selects the law version" in out
    italian = cli("facts-template", "--family", "iscro")[1]
    assert "// data_domanda: la data di presentazione della domanda — data (AAAA-MM-GG)" in italian
    assert '"data_domanda": "AAAA-MM-GG"' in italian
