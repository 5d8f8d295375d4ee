"""The YAML test cases kept beside the rulesets (``rulesets/<family>/tests/*.yaml``), one pytest test per case:
the same cases ``regole test`` runs, so ``make test`` runs them too. A failure shows, field by field, what the
case expected and what the engine decided."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engine._casetests import CaseFile, CaseRunner, RulesetFolder, compile_folder, load_case_file, runner_for
from engine._resources import rulesets_dir
from engine.errors import RulesetError

CASE_FILES = sorted(rulesets_dir().glob("*/tests/*.yaml"))


def _params() -> Iterator[Any]:
    for path in CASE_FILES:
        label = f"{path.parent.parent.name}/{path.name}"
        try:
            cases = load_case_file(path).cases
        except RulesetError:  # a broken file is one failing test (index -1), not a collection error
            yield pytest.param(path, -1, id=f"{label}: the file does not load")
            continue
        for case in cases:
            yield pytest.param(path, case.index, id=f"{label}: {case.name}")


@cache
def _case_file(path: Path) -> CaseFile:
    return load_case_file(path)


@cache
def _runner(folder: Path) -> CaseRunner:
    laws, problems = compile_folder(RulesetFolder(folder))
    assert not problems, "\n".join(p.render() for p in problems)
    return runner_for(RulesetFolder(folder), laws)


def test_every_family_with_rulesets_is_looked_at() -> None:
    assert CASE_FILES, "no YAML test cases found beside the bundled rulesets"
    assert any(path.parent.parent.name == "iscro" for path in CASE_FILES)


@pytest.mark.parametrize(("path", "index"), list(_params()))
def test_yaml_case(path: Path, index: int) -> None:
    case_file = _case_file(path)
    case = case_file.cases[index]
    outcome = _runner(path.parent.parent).run(case, case_file.loaded)
    assert outcome.passed, f"{case.file}:{case.line}: {case.name}\n{outcome.describe()}"
