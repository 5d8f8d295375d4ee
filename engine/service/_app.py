"""The FastAPI application of ``regole serve``: the one module that imports the web framework.

Evaluations are CPU-bound and the durable-rules core runs one evaluation per network at a time, so they run
in a pool of threads, each request with a time limit (``asyncio.wait_for``): the event loop stays free to
answer ``/health`` while an evaluation runs, and N uvicorn worker processes give about N times the
throughput of one. A request that overruns its time gets a 503 problem; its thread finishes the work and
drops it (a thread cannot be stopped from outside). Every body is read with a byte limit before it is
parsed; the engine then applies its own limits (facts nested at most 20 deep, rulesets of at most 1 MB and
64 levels).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import _i18n
from .._i18n import N_
from .._i18n import gettext as _
from .._run import Library, default_library
from .._version import __version__
from ..errors import Problem, RegoleError, VersionSelectionError
from . import _work
from ._problems import MEDIA_TYPE, from_error, problem

T = TypeVar("T")
STATIC = Path(__file__).resolve().parent / "static"
_ENV = "REGOLE_SERVE_"

# What a person reads: English msgids, translated where they are used (engine/locale), in the language of the
# request: ``?lang=it|en`` on any URL, else the server's REGOLE_LANG, else Italian. (Accept-Language is not
# followed: the playground is Italian, and a browser's English would mix its messages into it.)
TEXT = {
    "too_large": N_("the request body is larger than {limit} bytes"),
    "timeout": N_("the request took longer than the limit of {seconds} seconds"),
    "not_utf8": N_("the text is not UTF-8 (invalid byte at offset {offset})"),
    "not_found": N_("no resource at {path}"),
    "slow_body": N_("the request body did not arrive within {seconds} seconds"),
    "cross_origin": N_("request from another origin ({origin}): the service accepts requests with a body only from "
                       "its own pages or from clients without a browser"),
    "bad_host": N_("the service answers only to the names {allowed}, not to {host!r} (protection against DNS "
                   "rebinding)"),
    "method": N_("the method {method} is not allowed on {path}"),
    "internal": N_("unexpected error of the service; the details are in the server's log"),
    "lang": N_("unknown language {lang!r}: regole speaks {languages}"),
    "missing": N_("required, and missing"),
    "bool_parsing": N_("should be true or false"),
    "description": N_("Italian social-security law as data: evaluate cases, compare law versions, check a "
                      "ruleset. Errors are problem details (RFC 9457)."),
}


_PYDANTIC_TYPES = ("missing", "bool_parsing")  # pydantic's error types of the query parameters, said in our words


@dataclass(frozen=True)
class Settings:
    """What a request may cost, and where the rulesets come from. Passed to worker processes through
    ``REGOLE_SERVE_*`` environment variables (:meth:`environment`, :meth:`from_environment`)."""

    rulesets: Path | None = None
    max_body_bytes: int = 1_000_000
    timeout_seconds: float = 10.0
    threads: int = 4
    max_edited_versions: int = 200  # each keeps about 1.3 MB (its network and version) for the life of the worker
    allowed_hosts: tuple[str, ...] = ()  # names the Host header may carry; empty: any (see regole serve)
    warm: bool = field(default=True, compare=False)

    def environment(self) -> dict[str, str]:
        env = {f"{_ENV}MAX_BODY_BYTES": str(self.max_body_bytes), f"{_ENV}TIMEOUT_SECONDS": str(self.timeout_seconds),
               f"{_ENV}THREADS": str(self.threads), f"{_ENV}MAX_EDITED_VERSIONS": str(self.max_edited_versions)}
        if self.rulesets is not None:
            env[f"{_ENV}RULESETS"] = str(self.rulesets)
        if self.allowed_hosts:
            env[f"{_ENV}ALLOWED_HOSTS"] = ",".join(self.allowed_hosts)
        return env

    @classmethod
    def from_environment(cls) -> Settings:
        env = os.environ
        rulesets = env.get(f"{_ENV}RULESETS")
        return cls(rulesets=Path(rulesets) if rulesets else None,
                   max_body_bytes=int(env.get(f"{_ENV}MAX_BODY_BYTES", cls.max_body_bytes)),
                   timeout_seconds=float(env.get(f"{_ENV}TIMEOUT_SECONDS", cls.timeout_seconds)),
                   threads=int(env.get(f"{_ENV}THREADS", cls.threads)),
                   max_edited_versions=int(env.get(f"{_ENV}MAX_EDITED_VERSIONS", cls.max_edited_versions)),
                   allowed_hosts=tuple(h for h in env.get(f"{_ENV}ALLOWED_HOSTS", "").split(",") if h))


class ProblemDetails(BaseModel):
    """An error (RFC 9457), as ``application/problem+json``."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    problems: list[dict[str, Any]] | None = None


class _TooLarge(Exception):
    pass


class _TimedOut(Exception):
    pass


class _SlowBody(Exception):
    pass


# Security headers of every answer; the pages get their own Content-Security-Policy below.
_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
            "Cross-Origin-Resource-Policy": "same-origin"}
_PAGE_POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI's page starts it with an inline script and styles parts of itself inline.
_DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
_API_POLICY = "default-src 'none'; frame-ancestors 'none'"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _host_name(host: str) -> str:
    """The name in a Host header, without its port: ``127.0.0.1:8000`` → ``127.0.0.1``, ``[::1]:80`` → ``::1``."""
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _cross_origin(request: Request) -> str | None:
    """The foreign origin of a browser request with a body, or None. A page elsewhere (or a rebound DNS name)
    must not make a visitor's browser post to this service: browsers send ``Origin`` and ``Sec-Fetch-Site``."""
    if request.method in _SAFE_METHODS:
        return None
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return request.headers.get("origin") or site
    origin = request.headers.get("origin")
    if origin is None:
        return None
    host = request.headers.get("host", "")
    return None if origin.split("://", 1)[-1] == host else origin


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDetails, "content": {MEDIA_TYPE: {}}, "description": description}
    for status, description in ((400, "corpo non JSON"), (413, "richiesta troppo grande"),
                                (422, "dati non validi"), (503, "tempo scaduto o servizio occupato"))}


def _json_body(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": schema}}}}


def create_app(settings: Settings | None = None, *, library: Library | None = None) -> FastAPI:
    """The application. ``library`` defaults to the rulesets of ``settings`` (the bundled ones)."""
    settings = settings or Settings()
    if library is None:
        library = Library(settings.rulesets) if settings.rulesets else default_library()
    executor = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="regole")
    edited = _work.EditedVersions(settings.max_edited_versions)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.warm:
            await asyncio.get_running_loop().run_in_executor(executor, _work.warm, library)
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="regole", version=__version__, description=_(TEXT["description"]), lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # /docs below, from the vendored Swagger UI (no CDN)

    async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        context = contextvars.copy_context()  # the request's language goes with the work into the thread
        work = asyncio.get_running_loop().run_in_executor(
            executor, functools.partial(context.run, function, *args, **kwargs))
        try:
            return await asyncio.wait_for(work, settings.timeout_seconds)
        except TimeoutError:
            raise _TimedOut from None

    async def body(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_body_bytes:
            raise _TooLarge
        chunks, size = [], 0
        try:
            async with asyncio.timeout(settings.timeout_seconds):  # a body trickling in holds a connection
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > settings.max_body_bytes:
                        raise _TooLarge
                    chunks.append(chunk)
        except TimeoutError:
            raise _SlowBody from None
        return b"".join(chunks)

    def answer(status: int, content: dict[str, Any]) -> JSONResponse:
        return JSONResponse(content, status_code=status, media_type=MEDIA_TYPE)

    @app.exception_handler(RegoleError)
    async def regole_error(request: Request, exc: RegoleError) -> JSONResponse:
        return answer(*from_error(exc, instance=request.url.path))

    @app.exception_handler(_TooLarge)
    async def too_large(request: Request, exc: _TooLarge) -> JSONResponse:
        detail = _(TEXT["too_large"]).format(limit=_i18n.number(settings.max_body_bytes))
        return answer(*problem("urn:regole:problema:troppo-grande", detail, instance=request.url.path,
                               limit_bytes=settings.max_body_bytes))

    # Out of time: the work (503, try again soon), or the client sending its body (408, and hang up on it).
    _late = {_TimedOut: ("tempo-scaduto", "timeout", ("Retry-After", "1")),
             _SlowBody: ("corpo-lento", "slow_body", ("Connection", "close"))}

    async def late(request: Request, exc: Exception) -> JSONResponse:
        kind, text, (header, value) = _late[type(exc)]
        detail = _(TEXT[text]).format(seconds=_i18n.number(settings.timeout_seconds))
        response = answer(*problem(f"urn:regole:problema:{kind}", detail, instance=request.url.path))
        response.headers[header] = value
        return response

    for late_error in _late:
        app.add_exception_handler(late_error, late)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [Problem(_(TEXT[error["type"]]) if error.get("type") in _PYDANTIC_TYPES
                            else str(error.get("msg", "")), code="H002",
                            path=".".join(str(part) for part in error.get("loc", ())))
                    for error in exc.errors()]
        detail = "; ".join(f"{p.path}: {p.message}" for p in problems)
        return answer(*problem("urn:regole:problema:richiesta", detail, instance=request.url.path,
                               problems=problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        path = request.url.path
        if exc.status_code == 405:
            status, content = problem("urn:regole:problema:metodo",
                                      _(TEXT["method"]).format(method=request.method, path=path), instance=path)
        elif exc.status_code == 404:
            status, content = problem("urn:regole:problema:non-trovato", _(TEXT["not_found"]).format(path=path),
                                      instance=path)
        else:  # pragma: no cover - the routes raise no other HTTP error
            status, content = exc.status_code, {"type": "about:blank", "title": str(exc.detail),
                                                "status": exc.status_code, "detail": str(exc.detail)}
        return answer(status, content)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return answer(*problem("urn:regole:problema:interno", _(TEXT["internal"]), instance=request.url.path))

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Any]) -> Response:
        """Refuse a Host the service was not started for, and a browser's request with a body from elsewhere."""
        path, host = request.url.path, request.headers.get("host", "")
        if settings.allowed_hosts and host and _host_name(host) not in settings.allowed_hosts:  # HTTP/1.0: none
            detail = _(TEXT["bad_host"]).format(allowed=", ".join(settings.allowed_hosts), host=host)
            return answer(*problem("urn:regole:problema:host", detail, instance=path))
        origin = _cross_origin(request)
        if origin is not None:
            return answer(*problem("urn:regole:problema:origine", _(TEXT["cross_origin"]).format(origin=origin),
                                   instance=path))
        response: Response = await call_next(request)
        return response

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        asked = request.query_params.get("lang")
        try:
            lang = _i18n.resolve(asked)
        except ValueError:
            lang = _i18n.resolve(None)
            with _i18n.language(lang):
                problems = [Problem(_(TEXT["lang"]).format(lang=asked, languages=", ".join(_i18n.LANGUAGES)),
                                    code="H002", path="lang")]
                response = answer(*problem("urn:regole:problema:richiesta", problems[0].message,
                                           instance=request.url.path, problems=problems))
        else:
            with _i18n.language(lang):
                response = await call_next(request)
        response.headers["Content-Language"] = lang
        response.headers.update(_HEADERS)
        path = request.url.path
        page = path == "/" or path.startswith("/static/")
        response.headers["Content-Security-Policy"] = (_PAGE_POLICY if page else
                                                       _DOCS_POLICY if path == "/docs" else _API_POLICY)
        return response

    # -- the playground ---------------------------------------------------------------------------------------

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def playground() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        vendored = "/static/vendor/swagger-ui"
        return get_swagger_ui_html(openapi_url="/openapi.json", title="regole · API",
                                   swagger_js_url=f"{vendored}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{vendored}/swagger-ui.css", swagger_favicon_url="data:,")

    # -- the API ----------------------------------------------------------------------------------------------

    @app.get("/health", summary="Il servizio risponde", tags=["servizio"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.head("/health", include_in_schema=False)  # what many monitors send
    async def health_head() -> Response:
        return Response(status_code=200)

    @app.get("/rulesets", summary="Famiglie e versioni di legge, con i periodi che governano", tags=["regole"])
    async def rulesets() -> dict[str, Any]:
        return await run(_work.list_rulesets, library)

    async def found(request: Request, function: Callable[..., T], *args: Any) -> T | JSONResponse:
        """``function``'s answer, or 404 when the family or version named in the path does not exist."""
        try:
            return await run(function, *args)
        except VersionSelectionError as exc:
            return answer(*from_error(exc, instance=request.url.path, not_found=True))

    @app.get("/rulesets/{family}/facts-schema", summary="Lo JSON Schema dei fatti di una famiglia",
             tags=["regole"], responses={404: _ERRORS[422] | {"description": "famiglia sconosciuta"}})
    async def family_schema(request: Request, family: str) -> Any:
        return await found(request, _work.facts_schema, library, family)

    @app.get("/rulesets/{family}/examples", summary="I casi di prova della famiglia (rulesets/<famiglia>/tests), "
             "con i fatti e l'esito atteso", tags=["regole"], responses={404: _ERRORS[422]})
    async def family_examples(request: Request, family: str) -> Any:
        return await found(request, _work.examples, library, family)

    @app.get("/rulesets/{family}/{version}", summary="Una versione compilata: parametri datati e fonti, "
             "requisiti, note", tags=["regole"], responses={404: _ERRORS[422] | {"description": "sconosciuta"}})
    async def version(request: Request, family: str, version: str) -> Any:
        return await found(request, _work.describe_version, library, family, version)

    @app.get("/rulesets/{family}/{version}/source", summary="Il testo YAML di una versione distribuita",
             tags=["regole"], response_class=Response,
             responses={200: {"content": {"application/yaml": {}}}, 404: _ERRORS[422]})
    async def source(request: Request, family: str, version: str) -> Response:
        text = await found(request, _work.ruleset_source, library, family, version)
        if isinstance(text, JSONResponse):
            return text
        return Response(text, media_type="application/yaml; charset=utf-8")

    facts_body = _json_body("I fatti del caso (lo stesso JSON di `regole evaluate FILE`).", {"type": "object"})

    @app.post("/evaluate", summary="Valuta un caso: lo stesso JSON di `regole evaluate --json`", tags=["casi"],
              responses=_ERRORS, openapi_extra=facts_body)
    async def evaluate(request: Request,
                       family: str | None = Query(None, description="la famiglia (es. iscro); dedotta se assente"),
                       version: str | None = Query(None, description="applica questa versione qualunque sia la data"),
                       explain: bool = Query(False, description="aggiungi la spiegazione in italiano")) -> Any:
        raw = await body(request)
        return await run(_work.evaluate_case, raw, library, family=family, version=version, explained=explain)

    edited_body = _json_body("Un insieme di regole modificato e i fatti di un caso.", {
        "type": "object", "additionalProperties": False, "required": ["ruleset", "facts"],
        "properties": {"ruleset": {"type": "string", "description": "il testo YAML della versione"},
                       "facts": {"type": "object"}, "explain": {"type": "boolean", "default": False}}})

    @app.post("/evaluate/edited", summary="Valuta un caso con una versione modificata (controllata e compilata, "
              "mai eseguita né con modelli propri)", tags=["casi"], responses=_ERRORS, openapi_extra=edited_body)
    async def evaluate_edited(request: Request) -> Any:
        raw = await body(request)
        return await run(_work.evaluate_edited, raw, edited)

    @app.post("/compare", summary="Un caso con due versioni alla stessa data (come `regole compare --json`)",
              tags=["casi"], responses=_ERRORS, openapi_extra=facts_body)
    async def compare(request: Request, a: str = Query(..., description="versione A: 2021 o iscro@2021"),
                      b: str = Query(..., description="versione B: 2024 o iscro@2024"),
                      family: str | None = Query(None, description="la famiglia; dedotta se assente")) -> Any:
        raw = await body(request)
        return await run(_work.compare, raw, library, a=a, b=b, family=family)

    @app.get("/diff/{a}/{b}", summary="Il diff semantico di due versioni (come `regole diff --format json`)",
             tags=["regole"], responses={404: _ERRORS[422]})
    async def diff(request: Request, a: str, b: str) -> Any:
        return await found(request, _work.diff, library, a, b)

    check_body = {"requestBody": {"required": True, "description": "Il testo YAML di una versione di legge.",
                                  "content": {"application/yaml": {"schema": {"type": "string"}},
                                              "text/plain": {"schema": {"type": "string"}}}}}

    @app.post("/check", summary="Controlla un insieme di regole: ogni problema con riga, colonna, codice e "
              "suggerimento (come `regole check --format json`)", tags=["regole"], responses=_ERRORS,
              openapi_extra=check_body)
    async def check(request: Request) -> Any:
        raw = await body(request)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems = [Problem(_(TEXT["not_utf8"]).format(offset=exc.start), code="Y000", line=1, column=1)]
            return answer(*problem("urn:regole:problema:versione-di-legge", problems[0].message,
                                   instance=request.url.path, problems=problems))
        return await run(_work.check, text)

    return app


def app_from_environment() -> FastAPI:
    """The application of a uvicorn worker process (``regole serve --workers N``)."""
    return create_app(Settings.from_environment())


__all__ = ["Settings", "app_from_environment", "create_app"]
