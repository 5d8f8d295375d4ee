"""What each endpoint asks of the engine, as plain functions over bytes and dicts (no web framework here).

Everything an endpoint answers is made by the engine's own functions (``evaluate``, ``Result.to_dict``,
``compare_case``, ``diff_versions``, ``check_text``); this module only reads the request's data and picks
the law versions. A posted ruleset is parsed, checked and compiled, never given templates of its own: the
explanation of an edited version uses the bundled templates of its family and version, in the same
sandbox, and is left out (with the reason) when they do not fit it.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._casetests import RulesetFolder, load_case_file
from .._check import check_text
from .._commands import named_version
from .._compare import compare_case
from .._compile import LawVersion
from .._diff import diff_versions, version_to_dict
from .._explain import Explainer, explain
from .._facts import parse_facts_json, selecting_date, validate_facts
from .._i18n import N_
from .._i18n import gettext as _
from .._run import Library, evaluate, run_case
from .._schema import load_schema
from ..errors import FactsError, Problem, RegoleError, RulesetError, TemplateError

# What a person reads: English msgids, translated where they are used (engine/locale), in the language of the
# request (``?lang=``, else the server's REGOLE_LANG, else Italian).
TEXT = {
    "edited_explained": N_("Explanation written with the templates of version {key} shipped with regole: the "
                           "templates are not edited from the playground."),
    "edited_not_explained": N_("No explanation for the edited version: the templates shipped for {key} do not "
                               "apply ({reason})."),
    "unknown_field": N_("unknown field; the fields allowed are: {allowed}"),
    "expected": N_("expected {what}"),
    "too_many_edited": N_("The service keeps at most {limit} different edited versions in memory; restart it to "
                          "evaluate others."),
}


class TooManyEditedVersions(RegoleError):
    """The process already holds as many edited versions as it allows (each keeps a rule network)."""


def list_rulesets(library: Library) -> dict[str, Any]:
    return {"families": [
        {"family": family, "facts_schema": library.versions(family)[0].facts_schema,
         "versions": [{"version": law.version, "key": law.key, "title": law.title,
                       "valid_from": law.valid_from.isoformat(),
                       "valid_to": law.valid_to.isoformat() if law.valid_to else None,
                       "selected_by": law.selected_by, "sha256": law.sha256} for law in library.versions(family)]}
        for family in library.families()]}


def describe_version(library: Library, family: str, version: str) -> dict[str, Any]:
    law = library.get(family, version)
    return {**version_to_dict(law), "path": _public_path(law)}


def _public_path(law: LawVersion) -> str:
    """Where a version's file is, as ``<family>/<file>``: the server's own folders are no client's business."""
    return f"{law.family}/{Path(law.path).name}"


def ruleset_source(library: Library, family: str, version: str) -> str:
    law = library.get(family, version)
    with open(law.path, encoding="utf-8") as handle:  # the library's own file, never a path from a request
        return handle.read()


def facts_schema(library: Library, family: str) -> dict[str, Any]:
    return load_schema(library.versions(family)[0].facts_schema)


def examples(library: Library, family: str) -> dict[str, Any]:
    """The family's own YAML test cases (``rulesets/<family>/tests/*.yaml``) as cases to try: name, file, the
    facts (as JSON), the law version a case forces (or None) and the expected decision."""
    folder = RulesetFolder.of(Path(library.versions(family)[0].path))
    cases = []
    for path in folder.case_files():
        try:
            loaded = load_case_file(path)
        except RulesetError:  # a broken case file is regole check's to report, not the playground's
            continue
        for case in loaded.cases:
            facts = json.loads(json.dumps(case.facts, default=str))  # money read from YAML as Decimal
            cases.append({"name": case.name, "file": path.name, "facts": facts, "law_version": case.law_version,
                          "expected_decision": case.expected.get("decision")})
    return {"family": family, "examples": cases}


def evaluate_case(raw: bytes, library: Library, *, family: str | None, version: str | None,
                  explained: bool) -> dict[str, Any]:
    """The result JSON of ``regole evaluate --json``, with ``explanation`` when asked for."""
    result = evaluate(raw, family=family, version=version, library=library)
    out = result.to_dict()
    if explained:
        out["explanation"] = explain(result)
    return out


def compare(raw: bytes, library: Library, *, a: str, b: str, family: str | None) -> dict[str, Any]:
    data = parse_facts_json(raw)
    if family is None and not ("@" in a and "@" in b):
        family = library.guess_family(data)
    law_a, law_b = named_version(a, library, family), named_version(b, library, family)
    return _public_paths(compare_case(data, law_a, law_b).to_dict(), a=law_a, b=law_b)


def diff(library: Library, a: str, b: str) -> dict[str, Any]:
    old, new = named_version(a, library, None), named_version(b, library, None)
    return _public_paths(diff_versions(old, new).to_dict(), old=old, new=new)


def _public_paths(out: dict[str, Any], **sides: LawVersion) -> dict[str, Any]:
    """``out`` with the file of the version at each of its ``sides`` named by :func:`_public_path`."""
    for side, law in sides.items():
        if isinstance(out.get(side), dict) and "path" in out[side]:
            out[side] = {**out[side], "path": _public_path(law)}
    return out


def check(text: str) -> dict[str, Any]:
    report, _ = check_text(text)
    return report.to_dict()


class EditedVersions:
    """The versions compiled from posted rulesets, by SHA-256 of their text. Each keeps a durable-rules
    network for the life of the process (the kernel never deletes one, see engine/_kernel.py), so their
    number is capped: past ``limit`` distinct texts, new ones are refused until the service restarts."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._laws: OrderedDict[str, LawVersion] = OrderedDict()
        self._lock = threading.Lock()

    def compile(self, text: str) -> LawVersion:
        report, law = check_text(text)
        if law is None:
            raise RulesetError(report.errors)
        with self._lock:
            known = self._laws.get(law.sha256)
            if known is not None:
                return known
            if len(self._laws) >= self.limit:
                raise TooManyEditedVersions(_(TEXT["too_many_edited"]).format(limit=self.limit))
            self._laws[law.sha256] = law
            return law


_ENVELOPE = {"ruleset": "string", "facts": "object", "explain": "boolean"}


def evaluate_edited(raw: bytes, edited: EditedVersions, *, explainer_root: Any = None) -> dict[str, Any]:
    """``{"ruleset": YAML text, "facts": {...}, "explain": bool}``: the facts evaluated under the posted
    version as if it governed their date. Field paths of the facts are those of ``regole evaluate``."""
    envelope = parse_facts_json(raw)
    problems = [Problem(_(TEXT["unknown_field"]).format(allowed=", ".join(_ENVELOPE)), code="H001", path=f"$.{key}")
                for key in envelope if key not in _ENVELOPE]
    for key, kind in _ENVELOPE.items():
        value = envelope.get(key)
        if (key != "explain" or value is not None) and not _is(value, kind):
            problems.append(Problem(_(TEXT["expected"]).format(what=kind), code="H002", path=f"$.{key}"))
    if problems:
        raise FactsError(problems)
    law = edited.compile(envelope["ruleset"])
    facts: Mapping[str, Any] = envelope["facts"]
    validate_facts(facts, law.facts_schema)
    day = selecting_date(facts, law.selected_by)
    result = run_case(law, facts, day, forced=not law.governs(day))
    out = result.to_dict()
    if envelope.get("explain"):
        try:
            out["explanation"] = Explainer(explainer_root, cache=False).explain(result)
            out["explanation_note"] = _(TEXT["edited_explained"]).format(key=law.key)
        except TemplateError as exc:
            reason = exc.problems[0].message if exc.problems else str(exc)
            out["explanation"] = None
            out["explanation_note"] = _(TEXT["edited_not_explained"]).format(key=law.key, reason=reason)
    return out


def _is(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    return isinstance(value, bool)


def warm(library: Library) -> None:
    """Compile every bundled version and build its network, so that the first requests are not slow."""
    from .._run import kernel_for

    for family in library.families():
        for law in library.versions(family):
            kernel_for(law)
