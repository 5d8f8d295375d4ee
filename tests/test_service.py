"""regole serve, through FastAPI's test client: every endpoint, every error shape (RFC 9457 problem details with
the CLI's codes and field paths), the limits on what a request may cost, and hostile bodies."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_2024, cli
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from engine import Library, evaluate, explain
from engine._compare import compare_case
from engine._diff import diff_versions
from engine._schema import load_schema
from engine.errors import FactsError
from engine.service import _work
from engine.service._app import Settings, create_app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "iscro-2024-ammessa.json"
ISCRO_2024 = (ROOT / "rulesets" / "iscro" / "2024.yaml").read_text(encoding="utf-8")
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(warm=False))) as test_client:
        yield test_client


def problem_of(response: Any, status: int, kind: str) -> dict[str, Any]:
    """The problem details of ``response``, checked for RFC 9457's members and the expected status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:regole:problema:{kind}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def codes_and_paths(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(p["code"], p["path"]) for p in body["problems"]]


# -- reading the law -------------------------------------------------------------------------------------------


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_rulesets_lists_families_versions_and_periods(client: TestClient, library: Library) -> None:
    body = client.get("/rulesets").json()
    families = {f["family"]: f for f in body["families"]}
    assert set(families) == set(library.families())
    iscro = {v["version"]: v for v in families["iscro"]["versions"]}
    assert iscro["2021"]["valid_from"] == "2021-01-01"
    assert iscro["2021"]["valid_to"] == "2023-12-31"
    assert iscro["2024"]["valid_to"] is None
    assert iscro["2024"]["selected_by"] == "data_domanda"
    assert families["iscro"]["facts_schema"] == "iscro-domanda.schema.json"


def test_one_version_as_json(client: TestClient, library: Library) -> None:
    body = client.get("/rulesets/iscro/2024").json()
    law = library.get("iscro", "2024")
    assert body["key"] == "iscro@2024"
    assert [r["id"] for r in body["requirements"]] == [r.name for r in law.requirements]
    soglia = next(p for p in body["parameters"] if p["name"] == "soglia_reddito")
    assert soglia["values"][0]["value"] == "12000.00"
    assert soglia["values"][0]["from"] == "2024-01-01"
    assert soglia["values"][0]["sources"]  # each dated value cites its source
    assert len(body["notes"]) == len(law.notes)
    assert {s["key"] for s in body["sources"]} == set(law.sources)


def test_facts_schema_and_source(client: TestClient) -> None:
    assert client.get("/rulesets/iscro/facts-schema").json() == load_schema("iscro-domanda.schema.json")
    source = client.get("/rulesets/iscro/2024/source")
    assert source.headers["content-type"].startswith("application/yaml")
    assert source.text == ISCRO_2024


@pytest.mark.parametrize("family", ["iscro", "cig-covid"])
def test_examples_are_the_family_s_test_cases_and_get_their_expected_decision(client: TestClient, family: str) -> None:
    examples = client.get(f"/rulesets/{family}/examples").json()["examples"]
    assert len(examples) >= 5
    assert len({e["name"] for e in examples}) == len(examples)
    for example in examples:
        query = {"family": family, **({"version": example["law_version"]} if example["law_version"] else {})}
        answer = client.post("/evaluate", params=query, json=example["facts"])
        if example["expected_decision"] is not None:
            assert answer.json()["decision"] == example["expected_decision"], example["name"]
        else:  # a case that expects an error: it gets a problem, never a 500
            assert 400 <= answer.status_code < 500, example["name"]


@pytest.mark.parametrize("path", ["/rulesets/iscro/2099", "/rulesets/nessuna/2024", "/rulesets/nessuna/facts-schema",
                                  "/rulesets/nessuna/examples",
                                  "/rulesets/iscro/2099/source", "/diff/iscro@2021/iscro@2099"])
def test_unknown_family_or_version_is_404(client: TestClient, path: str) -> None:
    body = problem_of(client.get(path), 404, "non-trovato")
    assert body["instance"] == path


# -- evaluating ------------------------------------------------------------------------------------------------


def test_evaluate_gives_the_cli_json(client: TestClient) -> None:
    response = client.post("/evaluate", content=EXAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    code, out, _ = cli("evaluate", str(EXAMPLE), "--json")
    assert code == 0
    assert response.json() == json.loads(out)
    assert response.json()["outputs"]["importo_mensile"] == "687.50"


def test_evaluate_explains_in_italian(client: TestClient) -> None:
    body = client.post("/evaluate?explain=true", content=EXAMPLE.read_bytes()).json()
    assert body["explanation"] == explain(evaluate(EXAMPLE.read_bytes()))
    assert "Esito: AMMESSA. Importo mensile 687,50 €" in body["explanation"]


def test_evaluate_with_family_and_forced_version(client: TestClient) -> None:
    body = client.post("/evaluate?family=iscro&version=2021", content=EXAMPLE.read_bytes()).json()
    assert body["version"] == "2021"
    assert body["provenance"]["forced_version"] is True


def test_a_missing_fact_leaves_the_case_undecided(client: TestClient) -> None:
    facts = {k: v for k, v in BASE_2024.items() if k != "regolarita_contributiva"}
    body = client.post("/evaluate", json=facts).json()
    assert body["decision"] == "indeterminato"
    assert body["missing_facts"] == ["regolarita_contributiva"]


HOSTILE: list[tuple[str, bytes, int, str]] = [
    ("not JSON", b"{bad", 400, "json"),
    ("not UTF-8", b'{"data_domanda": "\xff"}', 400, "json"),
    ("an array", b"[1, 2]", 422, "fatti"),
    ("NaN", b'{"data_domanda": "2024-09-10", "reddito_dichiarato": {"2023": NaN}}', 422, "fatti"),
    ("a duplicate key", b'{"data_domanda": "2024-09-10", "data_domanda": "2024-09-11"}', 422, "fatti"),
    ("an unknown field", b'{"data_domanda": "2024-09-10", "campo_inventato": 1}', 422, "fatti"),
    ("a wrong type", b'{"data_domanda": "2024-09-10", "regolarita_contributiva": "yes"}', 422, "fatti"),
    ("a huge exponent", b'{"data_domanda": "2024-09-10", "reddito_dichiarato": {"2023": 1e999999}}', 422, "fatti"),
    ("a 5000-digit integer", b'{"data_domanda": "2024-09-10", "reddito_dichiarato": {"2023": ' + b"9" * 5000 + b"}}",
     422, "fatti"),
    ("a negative zero date", b'{"data_domanda": "0000-00-00"}', 422, "fatti"),
    ("nesting 30 deep", b'{"data_domanda": "2024-09-10", "prestazioni_iscro_precedenti": ' + b"[" * 30 + b"]" * 30
     + b"}", 413, "troppo-grande"),
    ("nesting 100000 deep", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 413, "troppo-grande"),
]


@pytest.mark.parametrize(("name", "raw", "status", "kind"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_facts_get_the_cli_codes_and_paths(client: TestClient, name: str, raw: bytes, status: int,
                                                   kind: str) -> None:
    body = problem_of(client.post("/evaluate?family=iscro", content=raw), status, kind)
    with pytest.raises(FactsError) as caught:
        evaluate(raw, family="iscro")
    assert codes_and_paths(body) == [(p.code, p.path) for p in caught.value.problems]


def test_no_version_governs_the_date(client: TestClient) -> None:
    body = problem_of(client.post("/evaluate?family=iscro", json={"data_domanda": "2019-01-01"}), 422,
                      "versione-non-applicabile")
    assert "1 gen 2019" in body["detail"]  # Italian, in Babel's Italian date format


def test_unknown_family_or_version_in_the_query(client: TestClient) -> None:
    problem_of(client.post("/evaluate?family=nessuna", content=EXAMPLE.read_bytes()), 422, "versione-non-applicabile")
    problem_of(client.post("/evaluate?version=2099", content=EXAMPLE.read_bytes()), 422, "versione-non-applicabile")


def test_a_bad_query_parameter_is_a_problem_too(client: TestClient) -> None:
    body = problem_of(client.post("/evaluate?explain=forse", content=EXAMPLE.read_bytes()), 422, "richiesta")
    assert codes_and_paths(body) == [("H002", "query.explain")]


# -- comparing and checking ------------------------------------------------------------------------------------


def test_compare_gives_the_cli_json(client: TestClient, library: Library) -> None:
    body = client.post("/compare?a=2021&b=2024&family=iscro", content=EXAMPLE.read_bytes()).json()
    data = json.loads(EXAMPLE.read_text())
    expected = compare_case(data, library.get("iscro", "2021"), library.get("iscro", "2024")).to_dict()
    expected["a"]["path"], expected["b"]["path"] = "iscro/2021.yaml", "iscro/2024.yaml"  # no server folders
    assert body == json.loads(json.dumps(expected))
    assert body["b"]["decision"] == "ammesso"
    guessed = client.post("/compare?a=iscro@2021&b=iscro@2024", content=EXAMPLE.read_bytes()).json()
    assert guessed == body


def test_compare_never_reads_a_file_named_in_the_query(client: TestClient) -> None:
    path = str(ROOT / "rulesets" / "iscro" / "2021.yaml")
    response = client.post("/compare", params={"a": path, "b": "2024", "family": "iscro"},
                           content=EXAMPLE.read_bytes())
    problem_of(response, 422, "versione-non-applicabile")


def test_compare_needs_both_versions(client: TestClient) -> None:
    body = problem_of(client.post("/compare?a=2021", content=EXAMPLE.read_bytes()), 422, "richiesta")
    assert codes_and_paths(body) == [("H002", "query.b")]


def test_diff_gives_the_cli_json(client: TestClient, library: Library) -> None:
    body = client.get("/diff/iscro@2021/iscro@2024").json()
    expected = diff_versions(library.get("iscro", "2021"), library.get("iscro", "2024")).to_dict()
    expected["old"]["path"], expected["new"]["path"] = "iscro/2021.yaml", "iscro/2024.yaml"  # no server folders
    assert body == json.loads(json.dumps(expected))
    assert body["format"] == "regole-diff"
    assert client.get("/diff/iscro@2024/iscro@2024").json()["same"] is True


def broken(text: str, old: str, new: str) -> tuple[str, int]:
    """``text`` with the first ``old`` replaced by ``new``, and the line (1-based) of the change."""
    at = text.index(old)
    return text[:at] + new + text[at + len(old):], text[:at].count("\n") + 1


def test_check_a_clean_ruleset(client: TestClient) -> None:
    body = client.post("/check", content=ISCRO_2024.encode(), headers={"Content-Type": "application/yaml"}).json()
    assert body["errors"] == 0
    assert body["checked"]["rulesets"] == 1


def test_check_locates_every_problem_as_the_cli_does(client: TestClient, tmp_path: Path) -> None:
    text, line = broken(ISCRO_2024, "condition: reddito_dichiarato_riferimento <= soglia_reddito",
                        "condition: reddito_dichiarato_riferimento <= soglia_inesistente")
    body = client.post("/check", content=text.encode()).json()
    assert body["errors"] >= 1
    first = body["problems"][0]
    assert (first["line"], first["severity"]) == (line, "error")
    assert first["column"] > 1
    assert first["code"].startswith(("X", "C"))
    assert first["hint"]  # a name close to the unknown one
    (tmp_path / "2024.yaml").write_text(text, encoding="utf-8")
    code, out, _ = cli("check", str(tmp_path / "2024.yaml"), "--format", "json")
    assert code == 1
    by_cli = [{**p, "file": None} for p in json.loads(out)["problems"]]
    assert [{**p, "file": None} for p in body["problems"]] == by_cli


def test_check_yaml_syntax_and_size(client: TestClient) -> None:
    body = client.post("/check", content=b"regole: 1\nfamily: [iscro\n").json()
    assert body["problems"][0]["code"] == "Y001"
    assert body["problems"][0]["line"] is not None
    not_utf8 = problem_of(client.post("/check", content=b"family: \xff\n"), 422, "versione-di-legge")
    assert not_utf8["problems"][0]["code"] == "Y000"
    problem_of(client.post("/check", content=b"#" * 1_000_001), 413, "troppo-grande")


def test_check_a_facts_schema_that_is_not_bundled(client: TestClient) -> None:
    text, line = broken(ISCRO_2024, "facts_schema: iscro-domanda.schema.json", "facts_schema: altro.schema.json")
    body = client.post("/check", content=text.encode()).json()
    assert [(p["code"], p["line"]) for p in body["problems"] if p["severity"] == "error"] == [("S005", line)]


# -- evaluating an edited version ------------------------------------------------------------------------------


def edited(client: TestClient, ruleset: str, facts: Any, **extra: Any) -> Any:
    return client.post("/evaluate/edited", json={"ruleset": ruleset, "facts": facts, **extra})


def test_edited_version_unchanged_gives_the_bundled_result(client: TestClient) -> None:
    facts = json.loads(EXAMPLE.read_text())
    body = edited(client, ISCRO_2024, facts, explain=True).json()
    bundled = client.post("/evaluate?explain=true", json=facts).json()
    assert (body["decision"], body["outputs"]) == (bundled["decision"], bundled["outputs"])
    assert body["explanation"] == bundled["explanation"]
    assert "iscro@2024" in body["explanation_note"]


def test_edited_version_changes_the_outcome(client: TestClient) -> None:
    text, _ = broken(ISCRO_2024, 'value: "12000.00"', 'value: "2000.00"')
    body = edited(client, text, json.loads(EXAMPLE.read_text())).json()
    assert body["decision"] == "respinto"
    assert [r["id"] for r in body["requirements"] if r["outcome"] == "non_soddisfatto"] == ["requisito.soglia_reddito"]
    assert "explanation" not in body


def test_edited_version_without_fitting_templates_is_not_explained(client: TestClient) -> None:
    text, _ = broken(ISCRO_2024, "family: iscro", "family: prova")
    body = edited(client, text, json.loads(EXAMPLE.read_text()), explain=True).json()
    assert body["decision"] == "ammesso"
    assert body["explanation"] is None
    assert "Nessuna spiegazione" in body["explanation_note"]


def test_edited_version_with_errors_is_refused_with_its_problems(client: TestClient) -> None:
    text, line = broken(ISCRO_2024, "condition: iscritto_gestione_separata", "condition: iscritto_gestione_separata +")
    body = problem_of(edited(client, text, {}), 422, "versione-di-legge")
    assert body["problems"][0]["line"] == line


def test_edited_request_shape(client: TestClient) -> None:
    body = problem_of(edited(client, ISCRO_2024, [], extra=1, explain="sì"), 422, "richiesta")
    assert codes_and_paths(body) == [("H001", "$.extra"), ("H002", "$.facts"), ("H002", "$.explain")]
    bad = problem_of(edited(client, ISCRO_2024, {"data_domanda": "2024-09-10", "campo": 1}), 422, "fatti")
    assert codes_and_paths(bad) == [("F003", "$.campo")]  # the facts' own paths, as in regole evaluate


def test_edited_versions_are_capped() -> None:
    with TestClient(create_app(Settings(warm=False, max_edited_versions=1))) as small:
        facts = json.loads(EXAMPLE.read_text())
        assert edited(small, ISCRO_2024, facts).status_code == 200
        assert edited(small, ISCRO_2024, facts).status_code == 200  # the same text is the same version
        other, _ = broken(ISCRO_2024, 'value: "12000.00"', 'value: "11000.00"')
        problem_of(edited(small, other, facts), 503, "occupato")


# -- limits, routes, the document ------------------------------------------------------------------------------


def test_body_limit_by_length_and_by_stream() -> None:
    with TestClient(create_app(Settings(warm=False, max_body_bytes=100))) as small:
        body = problem_of(small.post("/evaluate", content=b" " * 101), 413, "troppo-grande")
        assert body["limit_bytes"] == 100

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
            for _ in range(10):
                yield b" " * 20

        problem_of(small.post("/evaluate", content=chunks()), 413, "troppo-grande")
        assert small.post("/evaluate", content=b'{"data_domanda": "2024-09-10"}').status_code == 200


def test_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def slow(*args: Any, **kwargs: Any) -> dict[str, Any]:
        release.wait(5)
        return {}

    monkeypatch.setattr(_work, "evaluate_case", slow)
    with TestClient(create_app(Settings(warm=False, timeout_seconds=0.05))) as quick:
        response = quick.post("/evaluate", content=EXAMPLE.read_bytes())
        release.set()
    problem_of(response, 503, "tempo-scaduto")
    assert response.headers["retry-after"] == "1"


def test_health_answers_while_an_evaluation_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    started, release = threading.Event(), threading.Event()

    def busy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        started.set()
        release.wait(10)
        return {"decision": "ammesso"}

    monkeypatch.setattr(_work, "evaluate_case", busy)
    with TestClient(create_app(Settings(warm=False))) as app_client:
        answers: list[int] = []
        worker = threading.Thread(target=lambda: answers.append(
            app_client.post("/evaluate", content=EXAMPLE.read_bytes()).status_code))
        worker.start()
        assert started.wait(5)
        health = app_client.get("/health")  # answered while the evaluation still holds its thread
        assert health.status_code == 200
        assert not release.is_set()
        assert not answers
        release.set()
        worker.join(5)
    assert answers == [200]


def test_unknown_route_and_method(client: TestClient) -> None:
    problem_of(client.get("/nessuna"), 404, "non-trovato")
    problem_of(client.get("/evaluate"), 405, "metodo")


def test_an_unexpected_error_reveals_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("segreto interno")

    monkeypatch.setattr(_work, "evaluate_case", crash)
    with TestClient(create_app(Settings(warm=False)), raise_server_exceptions=False) as app_client:
        body = problem_of(app_client.post("/evaluate", content=b"{}"), 500, "interno")
    assert "segreto" not in json.dumps(body)


def test_openapi_document_validates(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    validate(document)
    assert {"/evaluate", "/evaluate/edited", "/compare", "/check", "/rulesets", "/rulesets/{family}/{version}",
            "/rulesets/{family}/examples",
            "/rulesets/{family}/facts-schema", "/diff/{a}/{b}", "/health"} <= set(document["paths"])
    assert "application/json" in document["paths"]["/evaluate"]["post"]["requestBody"]["content"]
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text  # the vendored Swagger UI: the page works without internet access
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"):
        assert client.get(f"/static/vendor/swagger-ui/{asset}").status_code == 200


def test_playground_is_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="it">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    problem_of(client.get("/static/../_app.py"), 404, "non-trovato")


def test_settings_travel_to_worker_processes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(rulesets=tmp_path, max_body_bytes=123, timeout_seconds=2.5, threads=3, max_edited_versions=7)
    for key, value in settings.environment().items():
        monkeypatch.setenv(key, value)
    assert Settings.from_environment() == settings


def test_serve_is_a_cli_command_and_evaluate_does_not_load_the_web_framework() -> None:
    code, out, _ = cli("serve", "--help")
    assert code == 0
    assert "127.0.0.1" in out
    assert cli("serve", "--workers", "0")[0] == 2
    script = ("import sys, io; from engine.cli import main; "
              "code = main(['evaluate', sys.argv[1]], stdout=io.StringIO()); "
              "print(code, sorted(m for m in ('fastapi', 'starlette', 'uvicorn', 'pydantic') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", script, str(EXAMPLE)], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["0", "[]"]


def test_serve_refuses_a_broken_ruleset_folder_before_starting(tmp_path: Path) -> None:
    (tmp_path / "iscro").mkdir()
    (tmp_path / "iscro" / "2024.yaml").write_text("regole: 1\nfamily: [iscro\n", encoding="utf-8")
    code, _, err = cli("--rulesets", str(tmp_path), "serve", "--port", "1")
    assert code == 4
    assert "Y001" in err
    assert "Traceback" not in err


# -- the language of what a person reads: Italian by default, English with ?lang=en ------------------------------


def test_problems_are_italian_by_default_and_english_with_lang_en(client: TestClient) -> None:
    bad = {"data_domanda": "2024-09-10", "regolarita_contributiva": "si", "percettore_nasp": True}
    italian = client.post("/evaluate?family=iscro", json=bad)
    english = client.post("/evaluate?family=iscro&lang=en", json=bad)
    it, en = problem_of(italian, 422, "fatti"), problem_of(english, 422, "fatti")
    assert (italian.headers["content-language"], english.headers["content-language"]) == ("it", "en")
    assert (it["title"], en["title"]) == ("I fatti del caso non sono validi", "The facts of the case are not valid")
    assert "dovrebbe essere vero o falso" in it["detail"]
    assert "campo sconosciuto" in it["detail"]
    assert "should be boolean" in en["detail"]
    assert "unknown field" in en["detail"]
    assert codes_and_paths(it) == codes_and_paths(en)  # codes, paths and type URIs never change


def test_the_language_of_one_request_does_not_leak_into_the_next(client: TestClient) -> None:
    problem_of(client.get("/nowhere?lang=en"), 404, "non-trovato")
    assert problem_of(client.get("/nowhere"), 404, "non-trovato")["detail"] == "nessuna risorsa a /nowhere"


def test_an_unknown_language_is_a_request_problem(client: TestClient) -> None:
    body = problem_of(client.get("/health?lang=fr"), 422, "richiesta")
    assert codes_and_paths(body) == [("H002", "lang")]
    assert body["detail"] == "lingua sconosciuta 'fr': regole parla it, en"


def test_a_bad_query_parameter_is_said_in_the_language_asked(client: TestClient) -> None:
    italian = problem_of(client.post("/evaluate?explain=forse", content=EXAMPLE.read_bytes()), 422, "richiesta")
    english = problem_of(client.post("/compare?a=2021&lang=en", content=EXAMPLE.read_bytes()), 422, "richiesta")
    assert italian["detail"] == "query.explain: dovrebbe essere true o false"
    assert english["detail"] == "query.b: required, and missing"
