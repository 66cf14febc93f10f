"""The page in real headless Chromium (Debian's ``chromium``, driven by Playwright): every
registered generator gets its form; names, num2words and a third-party generator run from it and
show their text, flags, audio (checked non-silent in the browser) and pictures; progress and
cancel; the CLI's error messages.

``SEQKIT_SERVE_SCREENSHOT=docs/serve.png`` also writes the screenshot the docs show.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="seqkit serve needs fastapi: pip install -e ./plugins/serve")
pytest.importorskip("seqkit_serve", reason="the serve plugin is not installed: pip install -e ./plugins/serve")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the browser tests need Playwright: pip install -e './plugins/serve[test]'")
CHROMIUM = os.environ.get("SEQKIT_CHROMIUM", "/usr/bin/chromium")
if not os.path.exists(CHROMIUM) and os.environ.get("SEQKIT_REQUIRE_CHROMIUM"):  # CI: run for real
    raise RuntimeError(f"SEQKIT_REQUIRE_CHROMIUM is set but there is no Chromium at {CHROMIUM}")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from seqkit_serve.app import create_app  # noqa: E402
from seqkit_serve.settings import Settings  # noqa: E402
from serve_helpers import ServerThread, free_port, midi_file  # noqa: E402

import seqkit  # noqa: E402
import seqkit.generation  # noqa: E402
import seqkit.host  # noqa: E402
from seqkit.testing import run_cli  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT = 60_000  # ms: the first run of a generator loads torch and its model
DECODE_WAV = """async (src) => {
  const data = await (await fetch(src)).arrayBuffer();
  const buffer = await new OfflineAudioContext(1, 22050, 22050).decodeAudioData(data);
  const x = buffer.getChannelData(0);
  let sum = 0;
  for (const v of x) sum += v * v;
  return { rms: Math.sqrt(sum / x.length), seconds: buffer.duration };
}"""


@pytest.fixture(scope="module")
def server(tone):
    app = create_app(Settings())
    with ServerThread(app, free_port()) as running:
        running.jobs = app.app.state.jobs
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1200, "height": 860}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.errors = []
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    context.close()


def open_generator(page, server, name):
    page.goto(f"{server.url}/#{name}")
    page.wait_for_selector(f'nav button[data-name="{name}"][aria-current="true"]')
    assert page.inner_text("#gen-title") == name


def run_and_wait(page, outputs, timeout=TIMEOUT):
    page.click("#run")
    page.wait_for_function(f"() => document.querySelectorAll('li.output').length === {outputs} || "
                           "!document.getElementById('error').hidden", timeout=timeout)
    assert page.is_hidden("#error"), page.inner_text("#error")


def texts(page):
    return [t.strip() for t in page.locator("li.output .text").all_inner_texts()]


def test_every_registered_generator_has_its_form(page, server):
    page.goto(server.url)
    page.wait_for_selector("nav button")
    listed = page.locator("nav button").evaluate_all("buttons => buttons.map(b => b.dataset.name)")
    assert listed == list(seqkit.host.generators())
    kinds = {"bool": "input[type=checkbox]", "choice": "select", "file": "input[type=file]", "list": "textarea",
             "str": "input[type=text]", "int": "input[type=text]", "float": "input[type=text]"}
    for name, gen in seqkit.host.generators().items():
        open_generator(page, server, name)
        for p in gen.schema()["params"]:
            kind = "select" if p.get("choices") else kinds[p["type"]]  # known values: a menu
            assert page.locator(f'.field[data-param="{p["name"]}"] {kind}').count() == 1, (name, p["name"])
            assert p["page_help"].split(".")[0] in page.inner_text(f'.field[data-param="{p["name"]}"] .help')
            slider = page.locator(f'.field[data-param="{p["name"]}"] input[type=range]')
            if slider.count():  # a number with a range: a slider beside its box
                assert p["type"] in ("int", "float") and p["min"] is not None
    assert page.errors == []


def test_names(page, server):
    open_generator(page, server, "names")
    page.select_option("#p-country", "Greek")
    page.fill("#p-count", "5")
    page.fill("#p-seed", "3")
    run_and_wait(page, 5)
    expected = seqkit.generation.run_generator("names", country="Greek", count=5, seed=3)
    assert texts(page) == [o.text for o in expected.outputs]
    flags = page.locator('li.output .flag[data-key="new"]').all_inner_texts()
    assert flags == [f"new {'✓' if o.meta['new'] else '✗'}" for o in expected.outputs]
    assert "country: Greek" in page.inner_text(".run-meta")
    assert page.errors == []


def test_num2words_with_the_cli_flags(page, server):
    open_generator(page, server, "num2words")
    page.fill("#p-numbers", "42\n1,000\n101001001001")
    page.check("#p-check")
    run_and_wait(page, 3)
    assert texts(page)[:2] == ["forty-two", "one thousand"]
    assert page.locator('.flag[data-key="in_range"]').all_inner_texts() == ["in range ✓"] * 3
    assert page.locator('.flag[data-key="match"]').all_inner_texts() == ["match ✓"] * 3
    assert "3/3 match num2words" in page.inner_text(".notes")


def test_errors_are_the_command_lines(page, server):
    open_generator(page, server, "names")
    page.select_option("#p-country", "Greek")
    page.fill("#p-count", "0")
    page.click("#run")
    page.wait_for_selector("#error:not([hidden])")
    cli = run_cli(["names", "--country", "Greek", "--count", "0"])
    assert page.inner_text("#error") == cli.output.splitlines()[0] == "Error: --count must be at least 1, not 0"
    page.fill("#p-count", "2")
    page.fill("#p-max_length", "x")
    page.click("#run")
    page.wait_for_function("() => document.getElementById('error').textContent.includes('--max-length takes')")


def wav_sound(page, audio):
    """The <audio> element loaded (its duration), and its WAV decoded by the browser (RMS)."""
    audio.evaluate("a => new Promise((ok, bad) => a.readyState >= 1 ? ok() : "
                   "(a.onloadedmetadata = ok, a.onerror = () => bad(a.error.message)))")
    return {"duration": audio.evaluate("a => a.duration"), **page.evaluate(DECODE_WAV, audio.get_attribute("src"))}


@pytest.mark.skipif("abc" not in seqkit.host.generators(), reason="no abc generator registered")
def test_abc_tune_text_download_midi_and_player(page, server):
    open_generator(page, server, "abc")
    page.fill("#p-count", "1")
    page.fill("#p-max_chars", "400")
    page.fill("#p-seed", "1")
    run_and_wait(page, 1, timeout=180_000)
    tune = page.inner_text("li.output pre.text")
    assert re.search(r"^X:\s*\d+", tune, re.M) and re.search(r"^K:", tune, re.M)
    assert page.get_attribute('a[data-suffix="abc"]', "download") == "abc-1.abc"
    assert page.locator('.flag[data-key="ended"]').count() == 1
    if page.locator('a[data-suffix="mid"]').count():  # it converted: a MIDI download and a player
        audio = page.wait_for_selector('audio[data-rendered="page"]')
        sound = wav_sound(page, page.locator('audio[data-rendered="page"]'))
        assert sound["duration"] > 1 and sound["rms"] > 0.01, sound
        assert audio.is_visible()
    else:
        assert "not converted to MIDI" in page.inner_text(".notes")
    assert page.errors == []


@pytest.mark.skipif("music" not in seqkit.host.generators(), reason="no music generator registered")
def test_music_piano_roll_audio_and_midi(page, server, tmp_path):
    open_generator(page, server, "music")
    assert page.is_disabled("#p-soundfont")  # a .sf2 upload is not taken: MIDI and ABC only
    primer = tmp_path / "primer.mid"
    primer.write_bytes(midi_file((60, 64, 67, 72, 67, 64)))
    page.set_input_files("#p-primer", str(primer))
    page.fill("#p-tokens", "96")
    page.fill("#p-seed", "1")
    run_and_wait(page, 1, timeout=180_000)
    roll = page.locator('li.output img[data-suffix="png"]')
    # the image loads after the job ends: wait for it (a busy machine may take a while)
    page.wait_for_function("() => { const i = document.querySelector('li.output img[data-suffix=\"png\"]');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
    assert roll.evaluate("img => img.complete && img.naturalWidth") > 100
    audio = page.locator('li.output audio[data-suffix="wav"]')
    assert audio.get_attribute("src").startswith("/api/jobs/")  # the server's WAV
    sound = wav_sound(page, audio)
    assert sound["duration"] > 0.5 and sound["rms"] > 0.01, sound
    synth = page.locator('.chip[data-key="synth"]').inner_text()
    if _fluidsynth_present():
        assert synth.startswith("synth: FluidSynth"), synth
    assert page.get_attribute('a[data-suffix="mid"]', "download") == "music-1.mid"
    print(f"music: {sound}, {synth}")
    shot = Path(os.environ.get("SEQKIT_SERVE_SCREENSHOT") or tmp_path / "serve.png")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert page.errors == []


def test_third_party_generator_text_audio_picture_midi(page, server, tmp_path):
    open_generator(page, server, "test-tone")
    assert page.get_attribute("#p-primer", "accept") == ".mid,.midi"
    assert page.is_checked("#p-loud")
    primer = tmp_path / "primer.mid"
    primer.write_bytes(midi_file((60, 62, 64, 65)))
    page.set_input_files("#p-primer", str(primer))
    page.fill("#p-count", "2")
    page.fill("#p-label", "hello")
    run_and_wait(page, 2)
    assert texts(page) == ["hello 1: MIDI note 69", "hello 2: MIDI note 70"]
    assert page.locator('.chip[data-key="primer_notes"]').all_inner_texts() == ["primer notes: 4"] * 2
    for i in range(2):
        item = page.locator("li.output").nth(i)
        image = item.locator('img[data-suffix="png"]')
        assert image.evaluate("img => img.complete && img.naturalWidth") == 96  # loaded and decoded
        sound = wav_sound(page, item.locator('audio[data-suffix="wav"]'))
        assert sound["duration"] > 0.3 and sound["rms"] > 0.05, sound  # non-silent, decoded by the browser
        print(f"output {i + 1}: {sound}")
        assert item.locator('a[data-suffix="mid"]').get_attribute("download") == f"test-tone-{i + 1}.mid"
    synth = page.locator('.chip[data-key="synth"]').first.inner_text()
    if _fluidsynth_present():
        assert synth == "synth: fluidsynth"
    assert page.errors == []


def test_progress_and_cancel(page, server):
    open_generator(page, server, "test-tone")
    page.fill("#p-length", "400")
    page.fill("#p-step_seconds", "0.05")
    page.click("#run")
    page.wait_for_function("() => /making tones: \\d+ of 400/.test(document.getElementById('status').textContent)")
    done = int(re.search(r"making tones: (\d+)", page.inner_text("#status")).group(1))
    assert 0 < done < 400 and page.is_visible("#progress")
    page.click("#cancel")
    page.wait_for_function("() => document.getElementById('status').textContent === 'cancelled'")
    assert page.is_enabled("#run") and page.is_hidden("#cancel")
    deadline = 50
    while deadline and any(j.status == "running" for j in server.jobs._jobs.values()):
        page.wait_for_timeout(100)
        deadline -= 1
    assert [j.status for j in server.jobs._jobs.values() if j.generator == "test-tone" and
            j.total == 400] == ["cancelled"]


@pytest.mark.skipif("music" not in seqkit.host.generators(), reason="no music generator registered")
def test_music_shows_progress_and_cancels(page, server):
    open_generator(page, server, "music")
    page.fill("#p-tokens", "5000")
    page.click("#run")
    page.wait_for_function("() => /generating tokens: \\d+ of 5000/.test(document.getElementById('status').textContent)",
                           timeout=120_000)
    page.click("#cancel")
    page.wait_for_function("() => document.getElementById('status').textContent === 'cancelled'")
    deadline = 100
    while deadline and any(j.status == "running" for j in server.jobs._jobs.values()):
        page.wait_for_timeout(100)
        deadline -= 1
    music = [j for j in server.jobs._jobs.values() if j.generator == "music" and j.total == 5000]
    assert [j.status for j in music] == ["cancelled"] and 0 < music[0].done < 5000


def _fluidsynth_present() -> bool:
    try:
        import fluidsynth  # noqa: F401
        import pretty_midi  # noqa: F401
    except (ImportError, OSError):
        return False
    return True
