"""Stage 7, report: the ``regole`` command line.

Exit codes (also in the README):

    0  evaluated (whatever the outcome: ammesso, respinto or indeterminato)
    2  the command was misused (unknown option, missing argument, an output path that cannot be written)
    3  the facts are wrong (not JSON, unknown field, bad money or date, ...)
    4  a ruleset or template is wrong
    5  no law version governs the date, or the forced version does not exist
    6  the rule kernel failed for this case

``check``, ``test`` and ``docs`` (the authoring toolkit) exit 0 when clean, passed or written, 1 when they
found problems (``check`` errors, failed cases, a ruleset that does not load) and 2 when misused.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import _batch, _casetests, _check, _docs, _facts_template, _i18n
from ._commands import register as register_comparison_commands
from ._explain import explain
from ._facts import read_facts_file
from ._i18n import gettext as _
from ._run import Library, default_library, evaluate
from ._version import __version__
from .errors import (
    ClusterError,
    FactsError,
    KernelError,
    OutputPathError,
    RegoleError,
    RulesetError,
    VersionSelectionError,
)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_FACTS = 3
EXIT_RULESET = 4
EXIT_VERSION = 5
EXIT_KERNEL = 6


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regole", description=_("Italian social-security law as data: evaluate cases, list law versions."))
    parser.add_argument("--version", action="version", version=f"regole {__version__}",
                        help=_("show the version of regole and exit"))
    parser.add_argument("--rulesets", metavar="DIR", type=Path,
                        help=_("read rulesets from DIR/<family>/*.yaml instead of the bundled ones"))
    commands = parser.add_subparsers(dest="command", required=True, metavar=_("COMMAND"))

    ev = commands.add_parser("evaluate", help=_("evaluate one case and explain the decision in Italian"),
                             description=_("Evaluate the facts in FILE (JSON; '-' reads standard input)."))
    ev.add_argument("file", metavar="FILE", help=_("JSON facts of the case, or - for standard input"))
    ev.add_argument("--family", help=_("the measure (e.g. iscro); guessed from the facts when omitted"))
    ev.add_argument("--law-version", metavar="VERSION",
                    help=_("apply this version of the law whatever the date (e.g. 2024)"))
    ev.add_argument("--json", action="store_true", help=_("print the result and its trace as JSON"))
    ev.add_argument("--explain", action="store_true",
                    help=_("with --json: add the Italian explanation to the JSON (key \"explanation\")"))

    commands.add_parser("rulesets", help=_("list the families and law versions with the periods they govern"))
    register_comparison_commands(commands)  # diff, compare, impact, population
    _batch.add_command(commands)  # batch: row-level results of a population
    for toolkit in (_check, _casetests, _docs, _facts_template):  # check, test, docs, facts-template
        toolkit.add_command(commands)
    from .service import add_command as add_serve  # serve: FastAPI and uvicorn load only when it runs

    add_serve(commands)
    lang_help = _("the language of messages and reports: it (default) or en; also REGOLE_LANG")
    for command_parser in (parser, *commands.choices.values()):  # --lang before or after the command
        command_parser.add_argument("--lang", choices=_i18n.LANGUAGES, default=argparse.SUPPRESS, help=lang_help)
    return parser


def _language_asked(argv: Sequence[str]) -> str | None:
    """The value of ``--lang`` before argparse runs (argparse's own messages must already speak it)."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
    return None


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """``regole``: everything a person reads in the language of ``--lang``, else ``REGOLE_LANG``, else Italian."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        lang = _i18n.resolve(_language_asked(arguments))
    except ValueError:  # an unknown --lang: argparse reports it (exit 2), in the language of REGOLE_LANG
        try:
            lang = _i18n.resolve(None)
        except ValueError as exc:
            print(f"regole: {_i18n.ENVIRONMENT_VARIABLE}: {exc}", file=stderr or sys.stderr)
            return EXIT_USAGE
    with _i18n.language(lang), _i18n.argparse_language():
        return _main(arguments, stdout=stdout, stderr=stderr)


def _main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = _parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # --help and usage errors
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed its own message
        return int(exc.code or 0)
    library = Library(args.rulesets) if args.rulesets else default_library()
    try:
        if args.command == "rulesets":
            return _rulesets(library, out)
        if getattr(args, "handler", None) is not None:  # the other commands, with exit codes of their own
            return int(args.handler(args, library, out, err))
        return _evaluate(args, library, out)
    except FactsError as exc:
        if all(p.code == "F000" for p in exc.problems):  # the file itself: missing, a folder, unreadable
            print(f"regole: {exc}", file=err)
        else:
            print(_("regole: the facts are not valid:\n{error}").format(error=exc), file=err)
        return EXIT_FACTS
    except RulesetError as exc:
        print(_("regole: ruleset error:\n{error}").format(error=exc), file=err)
        return EXIT_RULESET
    except VersionSelectionError as exc:
        print(f"regole: {exc}", file=err)
        return EXIT_VERSION
    except KernelError as exc:
        print(f"regole: {exc}", file=err)
        return EXIT_KERNEL
    except (OutputPathError, ClusterError) as exc:  # an output that cannot be written; a Dask cluster out of reach
        print(f"regole: {exc}", file=err)
        return EXIT_USAGE
    except RegoleError as exc:  # pragma: no cover - every subclass is handled above
        print(f"regole: {exc}", file=err)
        return EXIT_RULESET


def _evaluate(args: argparse.Namespace, library: Library, out: TextIO) -> int:
    raw = read_facts_file(args.file)
    source = "<stdin>" if args.file == "-" else args.file
    result = evaluate(raw, family=args.family, version=args.law_version, library=library, source=source)
    if args.json and args.explain:  # one call for the decision and its explanation (always Italian, as the law)
        out.write(json.dumps({**result.to_dict(), "explanation": explain(result)}, ensure_ascii=False, indent=2)
                  + "\n")
    elif args.json:
        out.write(result.to_json() + "\n")
    else:
        out.write(explain(result))
    return EXIT_OK


def _rulesets(library: Library, out: TextIO) -> int:
    families = library.families()
    laws = [law for family in families for law in library.versions(family)]
    width = max((len(law.version) for law in laws), default=0)
    date_width = max((len(_i18n.date(law.valid_to)) for law in laws if law.valid_to), default=1)
    for family in families:
        out.write(f"{family}\n")
        for law in library.versions(family):
            until = _i18n.date(law.valid_to) if law.valid_to else "…"
            selected = _("(selected by: {field})").format(field=law.selected_by)
            out.write(f"  {law.version:<{width}}  {_i18n.date(law.valid_from)} – {until:<{date_width}}  {law.title}  "
                      f"{selected}\n")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
