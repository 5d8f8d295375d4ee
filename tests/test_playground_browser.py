"""The playground in a real browser: Playwright driving Debian's chromium against ``regole serve`` on 127.0.0.1.

Playwright's own browser download cannot work on these machines, so the tests launch the system binary
(``REGOLE_CHROMIUM``, else ``chromium`` on PATH). Without it they fail under CI (the environment variable
``CI`` is set: .ci/run installs chromium) and are reported as skipped, with the command that installs it,
on a developer's machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "iscro-2024-ammessa.json"
SCREENSHOT = ROOT / "docs" / "playground.png"
INSTALL = "apt-get update && apt-get install -y chromium"


def chromium_binary() -> str | None:
    return os.environ.get("REGOLE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = chromium_binary()
    if binary is None:
        message = f"chromium is not installed, so the browser tests did not run; install it with: {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=["--no-sandbox", "--lang=it-IT"])
        yield launched
        launched.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``regole serve`` (uvicorn) on 127.0.0.1 and a free port, stopped after the module's tests."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", str(port)],
                                   stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310 - our own server
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"regole serve did not start: {log.read_text(errors='replace')}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(locale="it-IT", viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.on("response",
              lambda answer: errors.append(f"{answer.status} {answer.url}") if answer.status >= 400 else None)
    opened.goto(server + "/")
    expect(opened.locator("body")).to_have_attribute("data-ready", "true")
    yield opened
    context.close()
    assert errors == []


def fill_example(page: Page) -> None:
    page.fill("#facts-json", EXAMPLE.read_text(encoding="utf-8"))
    expect(page.locator("#case-result-decision")).to_have_text("AMMESSA")


def test_the_inps_example_is_admitted_with_its_amount(page: Page) -> None:
    fill_example(page)
    expect(page.locator("#case-result-amount")).to_contain_text("687,50 €")
    expect(page.locator("#case-result-requirements li.soddisfatto")).to_have_count(11)
    expect(page.locator("#case-result-explanation")).to_contain_text("Esito: AMMESSA. Importo mensile 687,50 €")
    expect(page.locator("#fatto-regolarita_contributiva")).to_have_value("true")  # the form follows the JSON
    page.locator("#facts-json").blur()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_case_of_the_family_s_tests_fills_the_form(page: Page, server: str) -> None:
    with urllib.request.urlopen(f"{server}/rulesets/iscro/examples", timeout=10) as answer:  # noqa: S310
        examples = json.load(answer)["examples"]
    refused = next(e for e in examples if e["expected_decision"] == "respinto")
    page.select_option("#family", "iscro")
    expect(page.locator("#examples option")).to_have_count(len(examples) + 1)
    page.select_option("#examples", label=f"{refused['name']} (atteso: respinto)")
    expect(page.locator("#case-result-decision")).to_have_text("RESPINTA")
    expect(page.locator("#fatto-data_domanda")).to_have_value(refused["facts"]["data_domanda"])


def test_a_missing_fact_makes_the_case_undetermined(page: Page) -> None:
    fill_example(page)
    page.select_option("#fatto-regolarita_contributiva", "")  # "— non noto —" in the generated form
    expect(page.locator("#case-result-decision")).to_have_text("INDETERMINATA")
    expect(page.locator("#case-result-missing")).to_contain_text("regolarita_contributiva")
    expect(page.locator("#case-result-requirements li.indeterminato .mark")).to_have_text(["?"])
    assert "regolarita_contributiva" not in page.input_value("#facts-json")


def test_a_broken_ruleset_shows_its_error_at_its_line(page: Page) -> None:
    fill_example(page)
    page.click("button[data-tab=regole]")
    editor = page.locator("#ruleset-editor")
    expect(editor).to_have_value(re.compile(r"family: iscro"))
    expect(page.locator("#check-status")).to_have_class("status ok")
    text = editor.input_value()
    old = "condition: reddito_dichiarato_riferimento <= soglia_reddito"
    line = text[:text.index(old)].count("\n") + 1
    editor.fill(text.replace(old, "condition: reddito_dichiarato_riferimento <= soglia_inesistente", 1))
    problem = page.locator(f"#check-problems li.error[data-line='{line}']")
    expect(problem).to_contain_text(f"riga {line}, colonna")
    expect(problem).to_contain_text("soglia_inesistente")
    expect(page.locator(f"#gutter .line.error[data-line='{line}']")).to_have_count(1)
    expect(page.locator("#gutter .line.error")).to_have_count(1)
    # Fixed differently, the edited version refuses the case: the income ceiling lowered to 2,000 euros.
    editor.fill(text.replace('value: "12000.00"', 'value: "2000.00"', 1))
    expect(page.locator("#check-status")).to_have_class("status ok")
    expect(page.locator("#edited-result-decision")).to_have_text("RESPINTA")
    expect(page.locator("#edited-result-requirements li.non_soddisfatto")).to_have_count(1)


def test_two_versions_side_by_side_and_their_diff(page: Page) -> None:
    fill_example(page)
    page.click("button[data-tab=confronto]")
    expect(page.locator("#compare-a-decision")).to_have_text("INDETERMINATA")
    expect(page.locator("#compare-b-decision")).to_have_text("AMMESSA")
    expect(page.locator("#diff-result details summary").first).to_contain_text("Versione")
    expect(page.locator("#diff-result")).to_contain_text("soglia_reddito")


def test_the_api_page_works_offline(browser: Browser, server: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((server, "data:")) else None)
    page.goto(server + "/docs")
    expect(page.locator(".opblock-summary-path", has_text="/evaluate").first).to_be_visible()
    context.close()
    assert outside == []
