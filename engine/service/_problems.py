"""Engine errors as problem details (RFC 9457): ``type``, ``title`` (in the request's language, Italian by
default), ``status``, ``detail``,
``instance``, and ``problems``, the same records (code, message, file, line, column, path, hint) as
``regole check --format json`` and the same field paths as ``regole evaluate``."""

from __future__ import annotations

from typing import Any

from .._i18n import N_
from .._i18n import gettext as _
from ..errors import FactsError, KernelError, Problem, RegoleError, RulesetError, VersionSelectionError
from ._work import TooManyEditedVersions

MEDIA_TYPE = "application/problem+json"

# type URI → (HTTP status, title). What a person reads is kept here, in one place: English msgids, translated
# when a problem is made. The type URIs never change with the language.
KINDS: dict[str, tuple[int, str]] = {
    "urn:regole:problema:json": (400, N_("The request body is not a valid JSON document")),
    "urn:regole:problema:troppo-grande": (413, N_("The request exceeds the limits of the service")),
    "urn:regole:problema:fatti": (422, N_("The facts of the case are not valid")),
    "urn:regole:problema:richiesta": (422, N_("The request does not have the expected form")),
    "urn:regole:problema:versione-di-legge": (422, N_("The law version has errors")),
    "urn:regole:problema:versione-non-applicabile": (422, N_("No law version applies")),
    "urn:regole:problema:non-trovato": (404, N_("Resource not found")),
    "urn:regole:problema:metodo": (405, N_("Method not allowed")),
    "urn:regole:problema:tipo-di-contenuto": (415, N_("Content type not accepted")),
    "urn:regole:problema:origine": (403, N_("A request from another origin is not allowed")),
    "urn:regole:problema:host": (400, N_("Server name not accepted")),
    "urn:regole:problema:corpo-lento": (408, N_("The request body arrives too slowly")),
    "urn:regole:problema:tempo-scaduto": (503, N_("Processing time ran out")),
    "urn:regole:problema:occupato": (503, N_("The service cannot accept more edited versions")),
    "urn:regole:problema:motore": (500, N_("Error of the rule engine")),
    "urn:regole:problema:interno": (500, N_("Internal error of the service")),
}

_FACTS_KIND_BY_CODE = {"F001": "urn:regole:problema:json", "F008": "urn:regole:problema:json",
                       "F007": "urn:regole:problema:troppo-grande"}


def problem(kind: str, detail: str, *, instance: str | None = None,
            problems: tuple[Problem, ...] | list[Problem] = (), **extra: Any) -> tuple[int, dict[str, Any]]:
    """The status and body of one problem of ``kind`` (a key of :data:`KINDS`)."""
    status, title = KINDS[kind]
    body: dict[str, Any] = {"type": kind, "title": _(title), "status": status, "detail": detail}
    if instance is not None:
        body["instance"] = instance
    if problems:
        body["problems"] = [{**p.to_dict(), "severity": p.severity} for p in problems]
    body.update(extra)
    return status, body


def from_error(exc: RegoleError, *, instance: str, not_found: bool = False) -> tuple[int, dict[str, Any]]:
    """The problem an engine error is. ``not_found``: a version named in the URL path that does not exist
    is a 404, not a request the engine could not decide."""
    if isinstance(exc, FactsError):
        codes = {p.code for p in exc.problems}
        # F007 at the root is the document's size or nesting; elsewhere it is a value out of range.
        kinds = {_FACTS_KIND_BY_CODE.get(p.code, "urn:regole:problema:fatti") if p.path == "$"
                 else "urn:regole:problema:fatti" for p in exc.problems}
        if all(code.startswith("H") for code in codes):
            kinds = {"urn:regole:problema:richiesta"}
        kind = kinds.pop() if len(kinds) == 1 else "urn:regole:problema:fatti"
        return problem(kind, str(exc), instance=instance, problems=exc.problems)
    if isinstance(exc, RulesetError):
        return problem("urn:regole:problema:versione-di-legge", str(exc), instance=instance, problems=exc.problems)
    if isinstance(exc, VersionSelectionError):
        kind = "urn:regole:problema:non-trovato" if not_found else "urn:regole:problema:versione-non-applicabile"
        return problem(kind, str(exc), instance=instance)
    if isinstance(exc, TooManyEditedVersions):
        return problem("urn:regole:problema:occupato", str(exc), instance=instance)
    if isinstance(exc, KernelError):
        return problem("urn:regole:problema:motore", str(exc), instance=instance)
    return problem("urn:regole:problema:interno", str(exc), instance=instance)  # pragma: no cover


__all__ = ["KINDS", "MEDIA_TYPE", "from_error", "problem"]
