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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import _batch, _casetests, _check, _docs
from ._commands import register as register_comparison_commands
from ._explain import explain
from ._facts import read_facts_file
from ._run import Library, default_library, evaluate
from ._version import __version__
from .errors import FactsError, KernelError, OutputPathError, RegoleError, RulesetError, VersionSelectionError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_FACTS = 3
EXIT_RULESET = 4
EXIT_VERSION = 5
EXIT_KERNEL = 6


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regole", description="Italian social-security law as data: evaluate cases, list law versions.")
    parser.add_argument("--version", action="version", version=f"regole {__version__}")
    parser.add_argument("--rulesets", metavar="DIR", type=Path,
                        help="read rulesets from DIR/<family>/*.yaml instead of the bundled ones")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ev = commands.add_parser("evaluate", help="evaluate one case and explain the decision in Italian",
                             description="Evaluate the facts in FILE (JSON; '-' reads standard input).")
    ev.add_argument("file", metavar="FILE", help="JSON facts of the case, or - for standard input")
    ev.add_argument("--family", help="the measure (e.g. iscro); guessed from the facts when omitted")
    ev.add_argument("--law-version", metavar="VERSION",
                    help="apply this version of the law whatever the date (e.g. 2024)")
    ev.add_argument("--json", action="store_true", help="print the result and its trace as JSON")

    commands.add_parser("rulesets", help="list the families and law versions with the periods they govern")
    register_comparison_commands(commands)  # diff, compare, impact, population
    _batch.add_command(commands)  # batch: row-level results of a population
    for toolkit in (_check, _casetests, _docs):  # check, test, docs: the authoring toolkit
        toolkit.add_command(commands)
    from .service import add_command as add_serve  # serve: FastAPI and uvicorn load only when it runs

    add_serve(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
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
            print(f"regole: the facts are not valid:\n{exc}", file=err)
        return EXIT_FACTS
    except RulesetError as exc:
        print(f"regole: ruleset error:\n{exc}", file=err)
        return EXIT_RULESET
    except VersionSelectionError as exc:
        print(f"regole: {exc}", file=err)
        return EXIT_VERSION
    except KernelError as exc:
        print(f"regole: {exc}", file=err)
        return EXIT_KERNEL
    except OutputPathError as exc:
        print(f"regole: {exc}", file=err)
        return EXIT_USAGE
    except RegoleError as exc:  # pragma: no cover - every subclass is handled above
        print(f"regole: {exc}", file=err)
        return EXIT_RULESET


def _evaluate(args: argparse.Namespace, library: Library, out: TextIO) -> int:
    raw = read_facts_file(args.file)
    source = "<stdin>" if args.file == "-" else args.file
    result = evaluate(raw, family=args.family, version=args.law_version, library=library, source=source)
    if args.json:
        out.write(result.to_json() + "\n")
    else:
        out.write(explain(result))
    return EXIT_OK


def _rulesets(library: Library, out: TextIO) -> int:
    families = library.families()
    width = max((len(law.version) for family in families for law in library.versions(family)), default=0)
    for family in families:
        out.write(f"{family}\n")
        for law in library.versions(family):
            until = law.valid_to.isoformat() if law.valid_to else "…"
            out.write(f"  {law.version:<{width}}  {law.valid_from.isoformat()} – {until:<10}  {law.title}  "
                      f"(scelta da: {law.selected_by})\n")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
