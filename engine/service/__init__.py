"""Stage 7, report over HTTP: ``regole serve``, a JSON API and the analyst's playground.

The service is a thin reporter over the same :class:`engine.Result` as the command line. Its modules::

    _command.py   ``regole serve`` on the CLI's parser (imports neither FastAPI nor uvicorn until it runs)
    _work.py      what each endpoint asks of the engine, as plain functions (no web framework)
    _problems.py  engine errors as RFC 9457 problem details (``application/problem+json``), titles in Italian
    _app.py       the FastAPI application: routes, limits, the thread pool evaluations run in
    static/       the playground (HTML, CSS and vanilla JavaScript, no build step)

FastAPI and Starlette are imported in ``_app.py`` only, uvicorn in ``_command.py``'s handler only, so
importing :mod:`engine` or running ``regole evaluate`` never loads them.
"""

from ._command import add_command

__all__ = ["add_command"]
