"""``regole serve``: registered on the CLI's parser without importing FastAPI or uvicorn; they are
imported when the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from .._i18n import N_
from .._i18n import gettext as _

# What a person reads: English msgids, translated where they are shown (engine/locale).
TEXT = {
    "help": N_("serve the HTTP API and the playground (http://127.0.0.1:8000/ by default)"),
    "listening": N_("regole serve: the playground at http://{host}:{port}/, the documented API at "
                    "http://{host}:{port}/docs"),
    "exposed": N_("regole serve: warning, {host} exposes the service to other machines; it has no authentication"),
}

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def add_command(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help=_(TEXT["help"]),
        description=_("Serve the JSON API (OpenAPI at /openapi.json, interactive docs at /docs) and the Italian "
                      "playground at /. Binds to 127.0.0.1 unless told otherwise."))
    serve.add_argument("--host", default="127.0.0.1", help=_("address to listen on (default 127.0.0.1)"))
    serve.add_argument("--port", type=_port, default=8000, help=_("port (default 8000)"))
    serve.add_argument("--workers", type=_positive, default=1,
                       help=_("worker processes; evaluations are CPU-bound, so use up to one per core (default 1)"))
    serve.add_argument("--threads", type=_positive, default=4, help=_("evaluation threads per worker (default 4)"))
    serve.add_argument("--timeout", type=float, default=10.0, help=_("seconds a request may take (default 10)"))
    serve.add_argument("--max-body", type=_positive, default=1_000_000, metavar="BYTES",
                       help=_("largest request body accepted (default 1000000)"))
    serve.set_defaults(handler=run_serve)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a whole number").format(text=text)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("must be at least 1, got {value}").format(value=value))
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(_("not a port: {value}").format(value=value))
    return value


def run_serve(args: argparse.Namespace, library: Any, out: TextIO, err: TextIO) -> int:
    import os

    import uvicorn

    from ._app import Settings

    for family in library.families():  # a broken ruleset stops here with the CLI's message, not in a worker
        library.versions(family)
    rulesets = Path(args.rulesets).resolve() if getattr(args, "rulesets", None) else None
    loopback = args.host in ("127.0.0.1", "localhost", "::1")  # then only loopback names: no DNS rebinding
    settings = Settings(rulesets=rulesets, max_body_bytes=args.max_body, timeout_seconds=args.timeout,
                        threads=args.threads, allowed_hosts=LOOPBACK_NAMES if loopback else ())
    os.environ.update(settings.environment())  # the worker processes read their settings from here
    if not loopback:
        print(_(TEXT["exposed"]).format(host=args.host), file=err)
    print(_(TEXT["listening"]).format(host=args.host, port=args.port), file=err)
    uvicorn.run("engine.service._app:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning", limit_concurrency=256, timeout_keep_alive=5)
    return 0
