"""The README's samples are real output: the explanation that ``make run`` prints (less the lines it cuts,
marked ``[…]``) and the provenance block, whose SHA-256 changes whenever the example's ruleset does."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = str(ROOT / "examples" / "iscro-2024-ammessa.json")


def _block_after(marker: str, language: str) -> str:
    start = README.index(marker)
    match = re.compile(rf"```{language}\n(.*?)```", re.DOTALL).search(README, start)
    assert match, f"no {language} block after {marker!r}"
    return match[1]


def test_the_sample_explanation_is_what_make_run_prints() -> None:
    code, out, err = cli("evaluate", EXAMPLE)
    assert (code, err) == (0, "")
    printed = out.splitlines()
    sample = [line for line in _block_after("This is the real output", "text").splitlines() if line != "[…]"]
    assert len(sample) > 10
    position = 0
    for line in sample:  # every line of the sample, in the same order
        assert line in printed[position:], f"README line not printed (or out of order): {line}"
        position = printed.index(line, position) + 1


def test_the_sample_provenance_is_the_example_s() -> None:
    code, out, err = cli("evaluate", EXAMPLE, "--json")
    assert (code, err) == (0, "")
    provenance = json.loads(out)["provenance"]
    sample = json.loads("{" + _block_after("and\n`provenance`", "json") + "}")["provenance"]
    assert sample == provenance


def test_a_law_version_loaded_by_hand_is_evaluated_through_a_library_of_it() -> None:
    """The README's recipe for a ruleset loaded with ``load_ruleset``."""
    from engine import Library, evaluate, load_ruleset

    assert "evaluate(facts, family=law.family, library=Library(versions=[law]))" in README
    law = load_ruleset(ROOT / "rulesets" / "iscro" / "2024.yaml")
    facts = json.loads(Path(EXAMPLE).read_text(encoding="utf-8"))
    result = evaluate(facts, family=law.family, library=Library(versions=[law]))
    assert (result.decision, result.version) == ("ammesso", "2024")
