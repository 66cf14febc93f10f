"""The page's start page, widgets, layout, waiting and Runs page in real headless Chromium
(Debian's ``chromium``, driven by Playwright), with an accessibility check by axe-core.

axe-core comes from npm (``.ci/run`` installs it into build/axe); ``SEQKIT_AXE`` names another
``axe.min.js``. ``SEQKIT_SERVE_SCREENSHOTS=docs`` also writes the screenshots the docs show
(serve-1280.png, serve-400.png, serve-runs.png).
"""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="seqkit serve needs fastapi: pip install -e ./plugins/serve")
pytest.importorskip("seqkit_serve", reason="the serve plugin is not installed: pip install -e ./plugins/serve")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the browser tests need Playwright: pip install -e './plugins/serve[test]'")
CHROMIUM = os.environ.get("SEQKIT_CHROMIUM", "/usr/bin/chromium")
REQUIRE = bool(os.environ.get("SEQKIT_REQUIRE_CHROMIUM"))
if not os.path.exists(CHROMIUM) and REQUIRE:  # CI: run for real
    raise RuntimeError(f"SEQKIT_REQUIRE_CHROMIUM is set but there is no Chromium at {CHROMIUM}")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
ROOT = Path(__file__).resolve().parents[3]
AXE = Path(os.environ.get("SEQKIT_AXE") or ROOT / "build" / "axe" / "node_modules" / "axe-core" / "axe.min.js")

from seqkit_serve.app import create_app  # noqa: E402
from seqkit_serve.settings import Settings  # noqa: E402
from serve_helpers import ServerThread, free_port  # noqa: E402

import seqkit  # noqa: E402
import seqkit.generation  # noqa: E402
import seqkit.host  # noqa: E402
from seqkit.testing import run_cli  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT = 60_000
SLOW = {"abc": 240_000, "music": 240_000}  # their first run loads torch and a model
WIDTHS = (1280, 400)
LAYOUT_WIDTHS = (1280, 400, 360)  # from 360 px up: no sideways scrolling, no clipped field
SHOTS = os.environ.get("SEQKIT_SERVE_SCREENSHOTS")


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def server(tone, runs_dir):
    app = create_app(Settings(), runs=runs_dir)
    with ServerThread(app, free_port()) as running:
        running.jobs = app.app.state.jobs
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def new_page(browser, width=1280, height=860, bypass_csp=False):
    """``bypass_csp``: for axe-core, injected as a script (the page's own CSP allows no inline script)."""
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=bypass_csp)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.errors = []
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


@pytest.fixture
def page(browser, server):
    page = new_page(browser)
    yield page
    page.context.close()


def open_generator(page, server, name):
    page.goto(f"{server.url}/#{name}")
    page.wait_for_selector(f'nav button[data-name="{name}"][aria-current="true"]', state="attached")
    assert page.inner_text("#gen-title") == name


def fits(page) -> dict:
    """The page's width against the viewport's, and the form fields outside it or hidden."""
    return page.evaluate("""() => {
      const width = window.innerWidth;
      const bad = [];
      for (const f of document.querySelectorAll('#panel:not([hidden]) .field')) {
        const control = f.querySelector('input, select, textarea');
        const r = control.getBoundingClientRect();
        const style = getComputedStyle(control);
        if (r.width < 10 || r.height < 10 || r.left < 0 || r.right > width + 0.5 || style.visibility === 'hidden')
          bad.push(`${f.dataset.param}: ${Math.round(r.left)}..${Math.round(r.right)} of ${width}`);
      }
      return { scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth, width, bad };
    }""")


@pytest.mark.parametrize("width", LAYOUT_WIDTHS)
def test_no_sideways_scrolling_and_every_field_visible(browser, server, width):
    page = new_page(browser, width)
    page.goto(server.url)
    page.wait_for_selector("#cards li.card")
    assert page.is_visible("#start") and page.is_hidden("#panel")  # the start page is the landing
    assert "seqkit" in page.inner_text("#start-title") or page.inner_text(".intro")
    got = fits(page)
    assert got["scroll"] <= got["width"] and got["body"] <= got["width"], got
    if SHOTS and width in WIDTHS:
        page.screenshot(path=str(ROOT / SHOTS / f"serve-{width}.png"))
    assert page.is_visible("#generators") == (width > 720)
    if width <= 720:  # the sidebar is a menu
        assert page.get_attribute("#menu-toggle", "aria-expanded") == "false"
        page.click("#menu-toggle")
        assert page.is_visible("#generators") and page.get_attribute("#menu-toggle", "aria-expanded") == "true"
        page.click('nav button[data-name="names"]' if "names" in seqkit.host.generators() else "nav button[data-name]")
        assert page.is_hidden("#generators")
    for name in seqkit.host.generators():
        open_generator(page, server, name)
        got = fits(page)
        assert got["scroll"] <= got["width"] and got["bad"] == [], (name, got)
    if "names" in seqkit.host.generators():  # with results too
        page.goto(server.url)
        page.click('#cards button[data-example="names"]')
        page.wait_for_selector("li.output")
        got = fits(page)
        assert got["scroll"] <= got["width"] and got["bad"] == [], ("names results", got)
        if SHOTS and width in WIDTHS:
            page.screenshot(path=str(ROOT / SHOTS / f"serve-names-{width}.png"))
    assert page.errors == []
    page.context.close()


def example_names():
    return list(seqkit.host.generators())


@pytest.mark.parametrize("name", example_names())
def test_each_generator_s_example_runs_from_the_start_page(page, server, name):
    page.goto(server.url)
    page.click(f'#cards button[data-example="{name}"]')
    page.wait_for_function(f"() => location.hash === '#{name}'")
    timeout = SLOW.get(name, TIMEOUT)
    page.wait_for_function("() => document.querySelectorAll('li.output').length > 0 || "
                           "!document.getElementById('error').hidden", timeout=timeout)
    assert page.is_hidden("#error"), page.inner_text("#error")
    example = seqkit.host.get_generator(name).examples[0]
    items = page.locator("li.output")
    if name == "names":
        assert items.count() == 8 and "country: Greek" in page.inner_text(".run-meta")
    if name == "num2words":
        expected = seqkit.generation.run_generator("num2words", **example.values).outputs[0].text
        assert page.inner_text("li.output .text") == expected and "billion" in expected
        assert page.inner_text('.flag[data-key="match"]') == "match ✓"
    if name == "test-tone":
        assert page.locator('.chip[data-key="primer_notes"]').all_inner_texts() == ["primer notes: 4"] * 2
        assert "four-notes.mid" in page.inner_text("#cli-command")
    if name == "abc":
        tune = page.inner_text("li.output pre.text")
        assert "R:reel" in tune and "K:D" in tune
        assert page.get_attribute('a[data-suffix="abc"]', "download") == "abc-1.abc"
        if page.locator('a[data-suffix="mid"]').count():  # converted: a player, whatever its headers
            page.wait_for_selector('audio[data-rendered="page"]', timeout=30_000)
    if name == "music":
        assert page.inner_text("#p-primer-example") == "using bach-prelude-primer.mid (the example's file)"
        assert page.inner_text("#cli-command").startswith("seqkit music generate --primer bach-prelude-primer.mid")
        assert int(page.inner_text('.chip[data-key="primer_tokens"]').split(": ")[1]) > 100  # it was sent
        assert page.locator('li.output a[data-suffix="mid"]').count() == 1
        notes = json.loads(page.evaluate("() => JSON.stringify([...document.querySelectorAll('.chip[data-key=notes]')]"
                                         ".map(c => c.textContent))"))
        if notes == ["notes: 0"]:
            assert page.locator('[data-hint="empty"]').count() == 1
        else:
            assert page.locator("li.output audio").count() >= 1
    for key, value in example.values.items():  # the form shows what ran
        shown = page.input_value(f"#p-{key}") if not isinstance(value, bool) else page.is_checked(f"#p-{key}")
        expected = "\n".join(value) if isinstance(value, list) else value if isinstance(value, bool) else str(value)
        assert shown == expected, (key, shown)
    assert page.errors == []


@pytest.mark.skipif("names" not in seqkit.host.generators(), reason="no names generator registered")
def test_menus_list_the_countries_and_the_installed_models(page, server):
    open_generator(page, server, "names")
    countries = page.locator("#p-country option").all_inner_texts()
    assert countries[0] == "(choose)" and len(countries[1:]) == 18 and "Greek" in countries
    models = page.locator("#p-model option").evaluate_all("os => os.map(o => o.value)")
    assert [m for m in models if m] == seqkit.generation.installed_models("names", ("names-rnn", "rnn-lm", "transformer-lm"))
    assert page.locator("#p-device option").evaluate_all("os => os.map(o => o.value)")[:2] == ["auto", "cpu"]
    assert page.locator("#p-temperature-slider").get_attribute("max") == "2"
    page.fill("#p-temperature", "0.5")
    page.dispatch_event("#p-temperature", "input")
    assert page.input_value("#p-temperature-slider") == "0.5"
    page.locator("#p-temperature-slider").fill("1.5")  # the slider moves: the value shows beside it
    assert page.input_value("#p-temperature") == "1.5"
    for help_text in page.locator(".field .help").all_inner_texts():
        assert "--" not in help_text and "@FILE" not in help_text and "stdin" not in help_text, help_text
    page.select_option("#p-country", "Greek")
    page.fill("#p-count", "4")
    page.fill("#p-seed", "3")
    page.dispatch_event("#p-seed", "input")
    command = page.inner_text("#cli-command")
    assert command == "seqkit names --country Greek --count 4 --temperature 1.5 --seed 3", command
    assert page.inner_text("#curl-command") == (
        f"curl -H 'content-type: application/json' -d '{{\"country\":\"Greek\",\"count\":4,\"temperature\":1.5,"
        f"\"seed\":3}}' {server.url}/api/run/names")
    page.click("#run")
    page.wait_for_function("() => document.querySelectorAll('li.output').length === 4")
    cli = run_cli(shlex.split(command)[1:])  # the same from the terminal: the same names
    assert cli.exit_code == 0 and cli.stdout.split() == [t.strip() for t in page.locator("li.output .text").all_inner_texts()]
    if "music" in seqkit.host.generators():  # a task's second model: in the menu and on the start page
        page.goto(server.url)
        page.click('#cards li[data-name="music"] button[data-model="compressive"]')
        page.wait_for_function("() => location.hash === '#music'")
        assert page.input_value("#p-model") == "compressive"
    assert page.errors == []


def test_queue_position_and_time_left_while_a_slow_run_waits(page, server):
    first = server.jobs  # a slow job already running for the same model: ours waits behind it
    import httpx

    ahead = httpx.post(f"{server.url}/api/run/test-tone?wait=false", json={"length": 200, "step_seconds": 0.05}).json()
    try:
        open_generator(page, server, "test-tone")
        page.fill("#p-length", "60")
        page.fill("#p-step_seconds", "0.1")
        page.click("#run")
        page.wait_for_function("() => /position 2, 1 ahead of you/.test(document.getElementById('status').textContent)")
    finally:
        httpx.post(f"{server.url}/api/jobs/{ahead['id']}/cancel")
    page.wait_for_function("() => /making tones: \\d+ of 60 · [\\d.]+ steps\\/s · about \\d+ s left/"
                           ".test(document.getElementById('status').textContent)")
    status = page.inner_text("#status")
    left = int(status.split("about ")[1].split(" s")[0])
    assert 0 < left <= 12, status
    page.click("#cancel")
    page.wait_for_function("() => document.getElementById('status').textContent === 'cancelled'")
    assert first is server.jobs and page.errors == []


def test_a_full_queue_retries_by_itself_with_a_countdown(page, server):
    calls = []

    def full_then_through(route):
        calls.append(time.monotonic())
        if len(calls) == 1:
            route.fulfill(status=429, headers={"Retry-After": "3", "content-type": "application/json"},
                          body=json.dumps({"error": "8 requests are already waiting for test-tone"}))
        else:
            route.continue_()

    open_generator(page, server, "test-tone")
    page.route("**/api/run/**", full_then_through)
    page.click("#run")
    page.wait_for_function("() => /queue is full .*trying again in 3 s/.test(document.getElementById('status').textContent)")
    page.wait_for_function("() => /trying again in 2 s/.test(document.getElementById('status').textContent)")
    page.wait_for_selector("li.output", timeout=20_000)
    assert len(calls) == 2 and calls[1] - calls[0] >= 2.5  # it waited as Retry-After said
    assert page.is_hidden("#error")
    assert [e for e in page.errors if "429" not in e] == []  # the browser logs the 429 itself


def append_rows(path, steps):
    with open(path, "a") as f:
        for s in steps:
            f.write(json.dumps({"event": "eval", "step": s, "train_loss": 4 / (1 + s / 50),
                                "val_loss": 4.2 / (1 + s / 60)}) + "\n")


def test_the_runs_page_draws_a_run_still_training_and_it_grows(browser, tone, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --runs runs, as a user types it: the resume command says the same
    run = tmp_path / "runs" / "names-gru"
    run.mkdir(parents=True)
    (run / "last.json").write_text(json.dumps({"task": "names", "extra": {"arch": "gru"}}))
    append_rows(run / "metrics.jsonl", (10, 20, 30))
    app = create_app(Settings(), runs="runs")
    with ServerThread(app, free_port()) as server:
        page = new_page(browser, 1000, 640)
        page.goto(f"{server.url}/runs")
        path = 'li[data-run="names-gru"] path[data-series="train_loss"]'
        page.wait_for_selector(path)
        assert page.get_attribute(path, "data-points") == "3"
        assert "training: updated" in page.inner_text('li[data-run="names-gru"] .facts')
        assert page.inner_text('li[data-run="names-gru"] pre.resume') == \
            "seqkit names train --arch gru --out runs/names-gru --resume"
        append_rows(run / "metrics.jsonl", (40, 50))  # the run goes on: the page follows by itself
        page.wait_for_function(f"() => document.querySelector('{path}').dataset.points === '5'", timeout=15_000)
        facts = page.inner_text('li[data-run="names-gru"] .facts')
        assert "last step 50" in facts and "best step 50" in facts
        assert sorted(p.name for p in run.iterdir()) == ["last.json", "metrics.jsonl"]  # nothing written
        if SHOTS:
            page.screenshot(path=str(ROOT / SHOTS / "serve-runs.png"))
        assert page.errors == []
        page.context.close()


def axe(page, where):
    if not AXE.exists():
        if REQUIRE:
            raise AssertionError(f"no axe-core at {AXE}: npm install --prefix build/axe axe-core (.ci/run does)")
        pytest.skip(f"no axe-core at {AXE} (npm install --prefix build/axe axe-core)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})
        .then(r => ({violations: r.violations.map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`),
                     passed: r.passes.map(p => p.id)}))""")
    assert result["violations"] == [], (where, result["violations"])
    assert "color-contrast" in result["passed"], (where, result["passed"])  # it checked something
    if where not in ("runs", "start"):  # a form: its controls were checked for labels
        assert "label" in result["passed"] or "select-name" in result["passed"], (where, result["passed"])


def focus_order(page) -> list[str]:
    """Tab from the top: the elements focused, in order (each visible), until it wraps."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    seen = []
    for _ in range(80):
        page.keyboard.press("Tab")
        info = page.evaluate("""() => { const e = document.activeElement;
            if (!e || e === document.body) return null;
            const r = e.getBoundingClientRect();
            return { id: e.id || e.dataset.name || e.dataset.example || e.textContent.trim().slice(0, 30),
                     visible: r.width > 0 && r.height > 0, top: r.top + window.scrollY }; }""")
        if info is None or (seen and info["id"] == seen[0]["id"]):
            break
        seen.append(info)
    assert all(i["visible"] for i in seen), [i for i in seen if not i["visible"]]
    return seen


@pytest.mark.parametrize("width", WIDTHS)
def test_accessibility(browser, server, width):
    """axe-core (labels on every control, contrast, names, ARIA ...) on the start page, each form,
    a result and the Runs page; the Tab order follows the page from top to bottom."""
    page = new_page(browser, width, bypass_csp=True)
    page.goto(server.url)
    page.wait_for_selector("#cards li.card")
    axe(page, "start")
    order = focus_order(page)
    if width > 720:
        names = [i["id"] for i in order]
        assert names.index("home") < names.index("start-link") < names.index(next(iter(seqkit.host.generators())))
    for name in seqkit.host.generators():
        open_generator(page, server, name)
        axe(page, name)
        if name == "test-tone":
            page.click("#run")
            page.wait_for_selector("li.output")
            axe(page, "test-tone result")
            order = focus_order(page)
            tops = [i["top"] for i in order if i["id"].startswith("p-")]
            assert tops == sorted(tops), "the form's fields are not tabbed through top to bottom"
    page.goto(f"{server.url}/runs")
    page.wait_for_selector("#runs-status:not(:empty)")
    axe(page, "runs")
    if SHOTS and width == 400:
        open_generator(page, server, "names" if "names" in seqkit.host.generators() else "test-tone")
    assert page.errors == []
    page.context.close()


def test_results_explain_themselves(page, server):
    """A piece without notes says so (no silent player); audio made without FluidSynth says how to
    get a piano sound. The server's answers are stood in for, to have both at once."""
    from tone_plugin import _wav

    job = {"id": "f" * 32, "generator": "test-tone", "position": 0, "progress": {"done": 0, "total": 0, "label": ""}}
    files = f"/api/jobs/{job['id']}/files"
    result = {"generator": "test-tone", "notes": ["piece 1 has no notes: the model ended it at once"],
              "results": [{"text": "empty", "notes": 0, "files": {"mid": f"{files}/0/mid", "wav": f"{files}/0/wav"}},
                          {"text": "sine", "notes": 12, "synth": "sine synthesis (no FluidSynth)",
                           "files": {"wav": f"{files}/1/wav"}}]}

    def answer(route):
        url = route.request.url
        if "/files/" in url:
            route.fulfill(status=200, headers={"content-type": "audio/wav"}, body=_wav(b"\x00\x10" * 2000))
        elif "/api/run/" in url:
            route.fulfill(status=202, content_type="application/json", body=json.dumps({**job, "status": "queued"}))
        else:
            route.fulfill(status=200, content_type="application/json",
                          body=json.dumps({**job, "status": "done", "result": result}))

    open_generator(page, server, "test-tone")
    page.route("**/api/run/**", answer)
    page.route("**/api/jobs/**", answer)
    page.click("#run")
    page.wait_for_selector("li.output")
    first, second = page.locator("li.output").nth(0), page.locator("li.output").nth(1)
    assert "has no notes" in first.locator('[data-hint="empty"]').inner_text()
    assert first.locator("audio").count() == 0  # no silent player
    assert "the model ended it at once" in page.inner_text(".notes")
    assert "install FluidSynth" in second.locator('[data-hint="piano"]').inner_text()
    assert second.locator("audio").count() == 1 and first.locator('[data-hint="piano"]').count() == 0
    assert page.errors == []
