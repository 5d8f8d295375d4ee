"""regole serve probed as a hostile client and as a careless one would use it: every answer to a bad request is
a problem (RFC 9457) with a code and a path, never a traceback, a server folder or Python's own advice; a
browser page elsewhere cannot post to the service; a body that trickles in cannot hold a connection open.
Each test here is a regression test for something the probe of issue 14 found (see the report of branch
probe-14), or pins what the probe found already right."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import cli
from fastapi.testclient import TestClient

from engine.service._app import Settings, create_app
from engine.service._command import LOOPBACK_NAMES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = json.loads((ROOT / "examples" / "iscro-2024-ammessa.json").read_text(encoding="utf-8"))
ISCRO_2024 = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text(encoding="utf-8")
PROBLEM = "application/problem+json"
LEAKS = (str(ROOT), "Traceback", "site-packages", "sys.set_int_max_str_digits", "Decimal")

pytestmark = pytest.mark.usefixtures("english")  # these tests read the English wording of the engine


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(warm=False)), raise_server_exceptions=False) as test_client:
        yield test_client


def problem_of(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert not [leak for leak in LEAKS if leak in response.text], response.text
    body: dict[str, Any] = response.json()
    assert (body["type"], body["status"]) == (f"urn:regole:problema:{kind}", status)
    assert body["title"]
    assert body["detail"]
    return body


def facts_with(raw_value: str, *keys: str) -> bytes:
    """The worked example with the value at ``keys`` replaced by the JSON text ``raw_value``, spliced in as
    text so that it can be what json.dumps would never write (1e400, NaN, 5000 digits)."""
    data = json.loads(json.dumps(EXAMPLE))
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = "@@VALUE@@"
    return json.dumps(data).replace('"@@VALUE@@"', raw_value).encode()


# -- numbers: every special number in a money, date, boolean and list field ----------------------------------

FIELDS = [("reddito_lavoro_autonomo", "2021"), ("reddito_dichiarato", "2023"), ("iscritto_gestione_separata",),
          ("data_domanda",), ("prestazioni_iscro_precedenti",)]
NUMBERS = ["1e26", "1e308", "-1e308", "1e400", "9" * 5000, "-" + "9" * 5000, '"1e400"', '"NaN"', '"Infinity"',
           '"' + "9" * 5000 + '"', "6000.123", '"6.000,50"', "true", "[]", "{}", "null"]


VALID = {(("iscritto_gestione_separata",), "true"), (("prestazioni_iscro_precedenti",), "[]")}
PAIRS = [(keys, raw) for keys in FIELDS for raw in NUMBERS if (keys, raw) not in VALID]


@pytest.mark.parametrize(("keys", "raw"), PAIRS,
                         ids=lambda value: ".".join(value) if isinstance(value, tuple) else value[:12])
def test_special_numbers_are_refused_at_their_field(client: TestClient, keys: tuple[str, ...], raw: str) -> None:
    body = problem_of(client.post("/evaluate", content=facts_with(raw, *keys)), 422, "fatti")
    assert body["problems"], body
    for p in body["problems"]:
        assert p["code"].startswith("F")
        assert p["path"].startswith("$")


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(client: TestClient, raw: str) -> None:
    body = problem_of(client.post("/evaluate", content=facts_with(raw, "reddito_dichiarato", "2023")), 422, "fatti")
    assert [p["code"] for p in body["problems"]] == ["F002"]


def test_a_five_thousand_digit_integer_is_named_without_python_s_advice(client: TestClient, tmp_path: Path) -> None:
    """Found by the probe: Python's own message ("use sys.set_int_max_str_digits()") reached the client."""
    raw = facts_with("9" * 5000, "reddito_dichiarato", "2023")
    body = problem_of(client.post("/evaluate", content=raw), 422, "fatti")
    assert body["problems"][0]["code"] == "F007"  # over the limit of an amount, at the field's own path
    assert body["problems"][0]["path"] == "$.reddito_dichiarato.2023"
    assert "over the limit of an amount" in body["detail"]
    path = tmp_path / "caso.json"
    path.write_bytes(raw)
    code, _out, err = cli("evaluate", str(path))
    assert code != 0
    assert "$.reddito_dichiarato.2023" in err
    assert "over the limit of an amount" in err
    assert "sys." not in err


def test_the_type_of_a_document_that_is_not_an_object_is_a_json_name(client: TestClient) -> None:
    for raw, name in ((b"[1]", "an array"), (b"1e400", "a number"), (b'"x"', "a string"), (b"null", "null")):
        body = problem_of(client.post("/evaluate", content=raw), 422, "fatti")
        assert body["detail"].endswith(f"got {name}")


@pytest.mark.parametrize(("keys", "value"), [
    (("reddito_lavoro_autonomo", "2023\n"), '"3000.00"'),  # a year key with a final newline
    (("reddito_dichiarato", "2023"), '"3000.00\\n"'),       # an amount with a final newline
    (("data_domanda",), '"2024-09-10\\n"'),
])
def test_a_final_newline_is_refused_at_its_field(client: TestClient, keys: tuple[str, ...], value: str) -> None:
    """Found by the probe: Python's ``$`` matches before a final newline, so jsonschema let "2023\\n" pass the
    schema's pattern while fastjsonschema refused it, and the problem lost its field path ("$", with
    fastjsonschema's "data.… must be named by propertyName definition")."""
    data = json.loads(json.dumps(EXAMPLE))
    if keys[0] == "reddito_lavoro_autonomo":
        data[keys[0]] = {"2021": "6000.00", "2022": "5000.00", keys[1]: "3000.00"}
        raw = json.dumps(data).encode()
    else:
        raw = facts_with(value, *keys)
    body = problem_of(client.post("/evaluate", content=raw), 422, "fatti")
    assert [p["path"] for p in body["problems"]] == ["$." + ".".join(keys)]
    assert "propertyName" not in body["detail"]
    assert "data." not in body["detail"]


# -- structures -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "status", "kind"), [
    (b"[" * 100_000 + b"]" * 100_000, 413, "troppo-grande"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 413, "troppo-grande"),
    (b'{"data_domanda": "2024-09-10", "data_domanda": "2024-09-11"}', 422, "fatti"),
    (json.dumps({f"k{i}": i for i in range(50_000)}).encode(), 422, "versione-non-applicabile"),
    (json.dumps({"k" * 900_000: 1}).encode(), 422, "versione-non-applicabile"),
    ("\ufeff{}".encode(), 422, "versione-non-applicabile"),  # a UTF-8 byte order mark is ignored (RFC 8259)
    ("{}".encode("utf-16"), 400, "json"),
    (b"", 400, "json"),
])
def test_hostile_structures(client: TestClient, raw: bytes, status: int, kind: str) -> None:
    problem_of(client.post("/evaluate", content=raw), status, kind)


# -- rulesets posted to /check and /evaluate/edited -------------------------------------------------------------

HOSTILE_RULESETS = {
    "huge-int": (ISCRO_2024.replace('value: "12000.00"', "value: " + "9" * 5000), "Y008"),
    "huge-int-100k": (ISCRO_2024.replace('value: "12000.00"', "value: " + "9" * 100_000), "Y008"),
    "billion-laughs": ("a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)), "Y003"),
    "python-tag": ("!!python/object/apply:os.system ['echo pwned']\n", "Y004"),
    "tabs": ("regole: 1\n\tfamily: iscro\n", "Y002"),
    "deep": ("a: " + "[" * 100_000 + "]" * 100_000, "Y006"),
    "non-string-keys": ("1: a\n[1, 2]: b\n", "Y001"),
    "nan": (ISCRO_2024.replace('value: "12000.00"', "value: .nan"), "Y008"),
    "schema-by-path": (ISCRO_2024.replace("facts_schema: iscro-domanda.schema.json",
                                          "facts_schema: ../../../../etc/passwd"), "S004"),
    "version-with-newline": (ISCRO_2024.replace('version: "2024"', 'version: "2024\\n"'), "S004"),
    "template-by-path": (ISCRO_2024.replace("    condition: iscritto_gestione_separata",
                                            "    template: ../../../etc/passwd\n"
                                            "    condition: iscritto_gestione_separata", 1), "S004"),
}


@pytest.mark.parametrize("name", HOSTILE_RULESETS)
def test_hostile_rulesets_are_located_problems_at_both_endpoints(client: TestClient, name: str) -> None:
    """Found by the probe: a 5000-digit integer in a ruleset was a 500 here and a traceback in ``regole check``."""
    text, code = HOSTILE_RULESETS[name]
    checked = client.post("/check", content=text.encode(), headers={"Content-Type": "application/yaml"})
    assert checked.status_code == 200, checked.text
    errors = [p for p in checked.json()["problems"] if p["severity"] == "error"]
    assert code in {p["code"] for p in errors}, errors
    assert all(p["line"] for p in errors)
    body = problem_of(client.post("/evaluate/edited", json={"ruleset": text, "facts": EXAMPLE}), 422,
                      "versione-di-legge")
    assert code in {p["code"] for p in body["problems"]}


def test_regole_check_reports_a_huge_integer_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "2024.yaml"
    path.write_text(HOSTILE_RULESETS["huge-int"][0], encoding="utf-8")
    code, out, err = cli("check", str(path))
    assert code != 0
    assert "Y008" in out + err
    assert "Traceback" not in out + err
    assert "a whole number of 5,000 digits" in out + err


# -- paths: traversal in every path parameter, and the static folder ---------------------------------------------

TRAVERSALS = ["/rulesets/iscro/..%2f..%2fpyproject.toml/source", "/rulesets/..%2F..%2Fetc/passwd",
              "/rulesets/%2e%2e/%2e%2e", "/rulesets/iscro/%2Fetc%2Fpasswd/source", "/rulesets/iscro/2024%00/source",
              "/rulesets/%00/2024", "/rulesets/..%2f..%2fschemas/facts-schema", "/rulesets/..%2fiscro/examples",
              "/rulesets/iscro%2f..%2fcig-covid/examples", "/rulesets/%2e%2e/examples", "/rulesets/%2e%2e/facts-schema",
              "/diff/iscro@..%2f..%2fetc%2fpasswd/iscro@2024", "/diff/%2Fetc%2Fpasswd/iscro@2024",
              "/diff/rulesets%2Fiscro%2F2021.yaml/iscro@2024", "/diff/iscro@2021%00/iscro@2024",
              "/diff/iscro@2021/iscro@2099", "/diff/nessuna@1/nessuna@2", "/diff/2021/2024",
              "/static/..%2f..%2f..%2fpyproject.toml", "/static/%2e%2e/_app.py", "/static/%2Fetc%2Fpasswd",
              "/static/index.html%00", "/static/..%5c_app.py", "/static/vendor"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_in_a_path_is_a_404_problem(client: TestClient, path: str) -> None:
    problem_of(client.get(path), 404, "non-trovato")


@pytest.mark.parametrize("query", ["a=../../pyproject.toml&b=iscro@2024", "a=/etc/passwd&b=2024",
                                   "a=iscro@2021&b=iscro@2099", "a=nessuna@1&b=iscro@2024"])
def test_compare_with_a_path_or_an_unknown_version(client: TestClient, query: str) -> None:
    problem_of(client.post(f"/compare?{query}", json=EXAMPLE), 422, "versione-non-applicabile")


@pytest.mark.parametrize("path", ["/rulesets", "/rulesets/iscro/2024", "/rulesets/iscro/examples",
                                  "/diff/iscro@2021/iscro@2024", "/diff/cig-covid@2021-l178/cig-covid@2021-l178"])
def test_no_answer_names_a_server_folder(client: TestClient, path: str) -> None:
    """Found by the probe: the version JSON and the diff carried the absolute path of the ruleset file."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert str(ROOT) not in response.text


def test_compare_names_no_server_folder(client: TestClient) -> None:
    response = client.post("/compare?a=iscro@2021&b=iscro@2024", json=EXAMPLE)
    assert response.status_code == 200
    assert str(ROOT) not in response.text
    assert (response.json()["a"]["path"], response.json()["b"]["path"]) == ("iscro/2021.yaml", "iscro/2024.yaml")


def test_the_version_names_its_file_within_the_rulesets(client: TestClient) -> None:
    assert client.get("/rulesets/iscro/2024").json()["path"] == "iscro/2024.yaml"
    diff = client.get("/diff/iscro@2021/iscro@2024").json()
    assert (diff["old"]["path"], diff["new"]["path"]) == ("iscro/2021.yaml", "iscro/2024.yaml")


# -- browsers elsewhere: cross-origin posts and DNS rebinding ----------------------------------------------------

@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://127.0.0.1:9999"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:1"}])
@pytest.mark.parametrize("path", ["/evaluate", "/evaluate/edited", "/compare?a=2021&b=2024", "/check"])
def test_a_page_elsewhere_cannot_post(client: TestClient, headers: dict[str, str], path: str) -> None:
    """Found by the probe: any content type was read as JSON, so a page on another site could post a form
    (a "simple" request, with no CORS preflight) from a visitor's browser, e.g. filling the edited-version cap."""
    response = client.post(path, content=json.dumps(EXAMPLE).encode(), headers={"Content-Type": "text/plain",
                                                                                **headers})
    problem_of(response, 403, "origine")


def test_the_playground_and_clients_without_a_browser_still_post(client: TestClient) -> None:
    same = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/evaluate", json=EXAMPLE, headers=same).status_code == 200
    assert client.post("/evaluate", json=EXAMPLE).status_code == 200  # curl sends no Origin
    assert client.get("/rulesets", headers={"Origin": "http://evil.example"}).status_code == 200  # reads: CORS


def test_a_foreign_host_name_is_refused_when_bound_to_loopback() -> None:
    with TestClient(create_app(Settings(warm=False, allowed_hosts=LOOPBACK_NAMES)),
                    base_url="http://127.0.0.1:8000") as local:
        assert local.get("/health").status_code == 200
        assert local.get("/health", headers={"Host": "localhost:8000"}).status_code == 200
        assert local.get("/health", headers={"Host": "[::1]:8000"}).status_code == 200
        problem_of(local.get("/health", headers={"Host": "rebound.evil.example:8000"}), 400, "host")
        assert local.get("/health", headers={"Host": ""}).status_code == 200  # an HTTP/1.0 client names none
        problem_of(local.post("/evaluate", json=EXAMPLE, headers={"Host": "rebound.evil.example"}), 400, "host")


def test_serve_on_loopback_allows_only_loopback_names(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    for name in ("REGOLE_SERVE_ALLOWED_HOSTS",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "environ", dict(os.environ))
    assert cli("serve", "--port", "8123")[0] == 0
    assert Settings.from_environment().allowed_hosts == LOOPBACK_NAMES
    os.environ.pop("REGOLE_SERVE_ALLOWED_HOSTS")
    assert cli("serve", "--host", "192.0.2.1", "--port", "8123")[0] == 0  # exposed on purpose: any name
    assert Settings.from_environment().allowed_hosts == ()


# -- a body that trickles in -------------------------------------------------------------------------------------

def test_a_slow_body_is_cut_off_with_408() -> None:
    """Found by the probe: a body sent a byte a second held its connection (and a place among uvicorn's 256)
    for as long as the client liked; the time limit only started once the body was in."""
    app = create_app(Settings(warm=False, timeout_seconds=0.2))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b" ", "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/evaluate", "raw_path": b"/evaluate", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 408
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert headers["content-type"] == PROBLEM
    assert headers["connection"] == "close"
    body = json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
    assert body["type"] == "urn:regole:problema:corpo-lento"


# -- headers ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/static/app.js", "/docs", "/openapi.json", "/health", "/nessuna"])
def test_security_headers_on_every_answer(client: TestClient, path: str) -> None:
    """Found by the probe: /docs, /openapi.json and the API had no frame or referrer policy."""
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    if path not in ("/", "/static/app.js", "/docs"):
        assert headers["content-security-policy"].startswith("default-src 'none'")


def test_health_answers_head_as_monitors_ask(client: TestClient) -> None:
    """Found by the probe: ``HEAD /health`` (what many monitors send) was a 405."""
    response = client.head("/health")
    assert response.status_code == 200
    assert response.content == b""


# -- query parameters --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "status", "kind"), [
    ("family=../../etc", 422, "versione-non-applicabile"), ("version=/etc/passwd", 422, "versione-non-applicabile"),
    ("family=iscro&version=2099", 422, "versione-non-applicabile"), ("explain=forse", 422, "richiesta"),
    ("family=", 422, "versione-non-applicabile"), ("family=%00", 422, "versione-non-applicabile"),
    ("family=" + "a" * 5000, 422, "versione-non-applicabile"),
])
def test_bad_query_parameters(client: TestClient, query: str, status: int, kind: str) -> None:
    problem_of(client.post(f"/evaluate?{query}", json=EXAMPLE), status, kind)
