"""``feedback.html`` as a person sees it: opened in a real browser (headless Chromium).

A small batch of the tiny assignment (tests/fixtures/tiny.py) is graded for real in the sandbox:
``figures`` answers with ``plt.show()`` and writes a Markdown answer with a heading, a table and
injected markup (``<script>``, ``<img onerror>``, a ``javascript:`` link); ``hostile`` leaves its
figure open and prints, displays and forges outputs meant to run in the reader's browser. The
page is then loaded with ``chromium --headless --dump-dom`` (scripts run, as in a browser) and
its DOM read: the notebook's Markdown is HTML (headings, tables), its figures are PNG data URLs
that decode, nothing the student or the kernel wrote ran, no hidden test code is there. A
screenshot of each page is kept under the test's tmp dir (and in ``$CI_ARTIFACTS`` when set).
The demo's index page is built from the same batch and loaded too.

Without Chromium (``chromium``/``chromium-browser``/``google-chrome``) the browser tests are
skipped off CI; in CI (``$CI`` set) they fail instead: ``.ci/run`` installs Debian's chromium.
"""
from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))

import tiny  # noqa: E402

from autograder.batch import BatchOptions, grade_batch  # noqa: E402
from autograder.course import build_course  # noqa: E402
from autograder.submissions import solution_answers, write_submission  # noqa: E402

pytestmark = pytest.mark.slow
LANG = "es"


# A written answer (a Markdown cell) with markup that must render, and markup that must not run.
INJECTED_ANSWER = """\
## Mi respuesta

| época | pérdida |
|---|---:|
| 1 | 0.9 |

El modelo se sobreajusta.
<script>document.title = "PWNED-md"; document.body.setAttribute("data-pwned", "md")</script>
<img src="x" onerror="document.title='PWNED-img'; document.body.setAttribute('data-pwned', 'img')">
<a href="javascript:document.title='PWNED-link'" id="link-js">enlace</a> [otro](javascript:alert(1))
<iframe src="javascript:parent.document.title='PWNED-iframe'"></iframe>
"""

# Printed, displayed and forged outputs (after the formula's answer): the kernel is as untrusted
# as the student.
INJECTED_OUTPUTS = '''
from IPython.display import HTML, Javascript, Markdown, display
print("<script>document.title='PWNED-print'</script><b id='pwned-print'>negrita</b>")
display(HTML("<h3 id='kernel-html'>desde el kernel</h3><script>document.title='PWNED-html'</script>"
             "<img src=x onerror=\\"document.title='PWNED-html-img'\\"><style>body{display:none}</style>"))
display(Javascript("document.title='PWNED-js'"))
display(Markdown("**md** <img src=x onerror=\\"document.title='PWNED-markdown'\\">"))
display({"image/png": "\\"><script>document.title='PWNED-png'</script>", "text/plain": "png falso"}, raw=True)
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The graded batch (``site/tiny/<student>/feedback.html``) and the demo's index page beside it."""
    from autograder.demo import _index_html, _scores_figure

    root = tmp_path_factory.mktemp("feedback_page")
    source = tiny.write_source(root / "solutions")
    course = build_course("tiny", source, root / "course-for-submissions")
    solutions = solution_answers(nbformat.read(str(source), as_version=4))
    # The fixture's plot answer without its matplotlib.use("Agg"): the kernel's inline backend draws
    # it, once plt.show() is called or the cell ends with the figure open.
    left_open = solutions["plot"].replace('matplotlib.use("Agg")\n', "")
    assert left_open != solutions["plot"]
    subs = root / "submissions"
    write_submission(course.release_notebook, {**solutions, "plot": left_open + "plt.show()\n",
                                               "why": INJECTED_ANSWER}, subs / "figures.ipynb")
    write_submission(course.release_notebook, {**solutions, "plot": left_open,
                                               "formula": solutions["formula"] + INJECTED_OUTPUTS},
                     subs / "hostile.ipynb")
    out = root / "site"
    batch = grade_batch([subs], BatchOptions(assignment="tiny", out_dir=out / "tiny", profile="smoke", jobs=1,
                                             lang=LANG, solutions_dir=root / "solutions"))
    _scores_figure({"tiny": batch}, out / "scores.png")
    (out / "index.html").write_text(_index_html({"tiny": batch}, out, "releases regenerated: test"), encoding="utf-8")
    return root, source, out, batch


# --------------------------------------------------------------------------- the browser

def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    found = chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium in CI: .ci/run installs Debian's `chromium` package")
        pytest.skip("headless Chromium not found (Debian: apt-get install chromium); the browser checks need it")
    return found


def load(browser: str, page: Path, tmp: Path, *, screenshot: Path | None = None) -> str:
    """The DOM of ``page`` after its scripts ran (``--dump-dom``), optionally a screenshot."""
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp / 'chromium-profile'}",
            "--virtual-time-budget=5000"]
    url = page.resolve().as_uri()
    run = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0 and "<html" in run.stdout, run.stderr[-2000:]
    if screenshot is not None:
        shot = subprocess.run([*base, f"--screenshot={screenshot}", "--window-size=1280,4000", url],
                              capture_output=True, text=True, timeout=180)
        assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
        artifacts = os.environ.get("CI_ARTIFACTS")
        if artifacts:
            Path(artifacts).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(screenshot, Path(artifacts) / screenshot.name)
    return run.stdout


class Dom(HTMLParser):
    """Every element of a dumped DOM as ``(tag, attrs)``, the title, and which elements hold text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.title = ""
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def tags(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.elements if tag == name]


def test_the_harness_sees_a_script_run(browser, tmp_path):
    """The checks below would see an injection run: in this browser, scripts and handlers do run."""
    page = tmp_path / "control.html"
    page.write_text("<!DOCTYPE html><html><head><title>control</title></head><body>"
                    "<script>document.title = 'RAN'; document.body.insertAdjacentHTML('beforeend', "
                    "\"<div id='pwned-control'></div>\")</script>"
                    "<img src='x' onerror=\"document.body.setAttribute('data-pwned', 'img')\"></body></html>")
    dom = Dom(load(browser, page, tmp_path))
    assert dom.title == "RAN"
    assert any(a.get("id") == "pwned-control" for _, a in dom.elements)
    assert dom.tags("body")[0].get("data-pwned") == "img"


# --------------------------------------------------------------------------- the graded notebooks

def plot_pngs(out: Path, student: str) -> list[str]:
    nb = nbformat.read(str(out / "tiny" / student / f"{student}.autograded.ipynb"), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "plot")
    return [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]


def test_the_kernel_keeps_figures_shown_and_left_open(site):
    _, _, out, batch = site
    assert {r.student: r.status for r in batch.records} == {"figures": "ok", "hostile": "ok"}
    assert len(plot_pngs(out, "figures")) == 1          # plt.show()
    assert len(plot_pngs(out, "hostile")) == 1          # a figure left open at the end of the cell


def test_figures_still_earn_their_points_from_the_exported_figure(site):
    import json

    _, _, out, _ = site
    for student in ("figures", "hostile"):
        tests = {t["grade_id"]: t for t in json.loads((out / "tiny" / student / "grading.json").read_text())["tests"]}
        assert tests["test_plot"]["status"] == "passed", tests["test_plot"]


# --------------------------------------------------------------------------- feedback.html in a browser

def decoded_png(src: str):
    from PIL import Image

    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(src[len(prefix):], validate=True)))
    image.load()                                     # decodes every pixel: a truncated PNG raises
    return image


@pytest.mark.parametrize("student", ["figures", "hostile"])
def test_feedback_renders_markdown_and_figures_and_runs_nothing_of_the_students(site, browser, student):
    from autograder.verify import split_hidden

    root, source, out, _ = site
    feedback = out / "tiny" / student / "feedback.html"
    # The notebook is folded away in a <details>; the screenshot is of the page with it open.
    opened = root / f"{student}-open.html"
    opened.write_text(feedback.read_text(encoding="utf-8").replace("<details>", "<details open>", 1),
                      encoding="utf-8")
    screenshot = root / f"feedback-{student}.png"
    text = load(browser, feedback, root)
    load(browser, opened, root, screenshot=screenshot)
    dom = Dom(text)

    # Markdown is HTML, never its escaped text
    assert any(t == "h1" for t, _ in dom.elements)                       # "# Tiny assignment"
    for literal in ("&lt;h1", "&lt;/p&gt;", "&lt;thead", "&lt;table", "&lt;em&gt;"):
        assert literal not in text, literal
    # figures: the plot cell's PNG, embedded, decoded by Pillow to a real image
    pngs = plot_pngs(out, student)
    sources = [a.get("src", "") for a in dom.tags("img")]
    assert f"data:image/png;base64,{pngs[0]}" in sources
    for src in sources:
        if src.startswith("data:image/png"):
            width, height = decoded_png(src).size
            assert width > 100 and height > 100
    assert screenshot.stat().st_size > 20_000

    # nothing a student or a kernel wrote ran, nor is live markup
    assert dom.title == f"Corrección · tiny · {student}", dom.title
    assert "PWNED" not in dom.title
    assert not dom.tags("script") and not dom.tags("iframe") and not dom.tags("style")[1:]
    assert not [a for _, a in dom.elements if a.get("id", "").startswith("pwned")]
    assert not [(t, a) for t, a in dom.elements for name in a if name.startswith("on")]
    assert not [a for a in dom.tags("a") if "javascript" in a.get("href", "").lower()]
    assert "data-pwned" not in dom.tags("body")[0]
    # ... and no hidden test code
    nb = nbformat.read(str(source), as_version=4)
    for cell in nb.cells:
        for line in split_hidden(cell.source)[1].splitlines():
            assert not line.strip() or line.strip() not in text, line
    assert "BEGIN HIDDEN TESTS" not in text

    if student == "figures":
        assert any(t == "h2" for t, _ in dom.elements)                   # "## Mi respuesta"
        assert dom.tags("thead") and dom.tags("th")                      # the answer's table
        assert "sobreajusta" in text
        assert "&lt;script&gt;" in text                                  # shown as the text it was
        assert [a for a in dom.tags("a") if a.get("id") == "link-js"] == [{"id": "link-js"}]   # no href left
    else:
        assert any(a.get("id") == "kernel-html" for t, a in dom.elements if t == "h3")   # display(HTML(...))
        assert "png falso" in text                                       # a forged PNG: its text only


def test_the_demo_index_page_lists_and_links_every_student(site, browser):
    root, _, out, batch = site
    text = load(browser, out / "index.html", root, screenshot=root / "index.png")
    dom = Dom(text)
    links = [a["href"] for a in dom.tags("a")]
    assert len(links) == len(batch.records) == 2
    for href in links:
        assert (out / href).is_file(), href
    assert [a["src"] for a in dom.tags("img")] == ["scores.png"] and (out / "scores.png").stat().st_size > 1000
    assert (root / "index.png").stat().st_size > 5_000


# --------------------------------------------------------------------------- without a browser

def test_clean_html_keeps_what_markdown_renders_and_escapes_the_rest():
    from autograder.report import clean_html

    png = "data:image/png;base64,iVBORw0KGgo="
    kept = clean_html(f'<h2 id="x">T<a class="anchor-link" href="#x">¶</a></h2><table><thead><tr><th '
                      f'style="text-align:right;">a</th></tr></thead></table><img src="{png}" alt="f">'
                      '<a href="https://example.org">w</a>')
    assert '<h2 id="x">' in kept and "<thead>" in kept and 'style="text-align:right;"' in kept
    assert f'src="{png}"' in kept and 'href="https://example.org"' in kept
    for hostile, gone in [("<script>alert(1)</script>", "<script"), ('<img src=x onerror="alert(1)">', "onerror"),
                          ('<a href="javascript:alert(1)">j</a>', "javascript"),
                          ('<a href="jav&#x09;ascript:alert(1)">j</a>', "ascript:"),
                          ('<a href="data:text/html,&lt;script&gt;">d</a>', "data:"),
                          ('<img src="https://tracker.example/p.gif">', "tracker"),
                          ('<img src="data:image/png;base64,x&quot; onload=&quot;alert(1)">', "onload"),
                          ("<iframe src=x></iframe>", "<iframe"), ("<style>*{}</style>", "<style"),
                          ('<div style="position:fixed;background:url(javascript:x)">d</div>', "position"),
                          ("<svg><script>alert(1)</script></svg>", "<svg"), ("<form action=x>", "<form")]:
        assert gone not in clean_html(hostile), hostile


def test_embedded_images_are_base64_only_and_within_a_budget():
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from autograder.report import embeddable_images

    png = base64.b64encode(b"\x89PNG fake" * 40).decode()
    nb = new_notebook(cells=[new_code_cell("", outputs=[
        new_output("display_data", data={"image/png": png}, metadata={"filenames": {"image/png": "/etc/passwd"}}),
        new_output("display_data", data={"image/png": '"><script>x</script>', "text/plain": "forged"}),
        new_output("display_data", data={"image/png": png}),
    ])])
    outputs = embeddable_images(nb, "en", budget=len(png) + 10).cells[0].outputs
    assert outputs[0].data == {"image/png": png} and "filenames" not in outputs[0].metadata
    assert outputs[1].data == {"text/plain": "forged"}
    assert "image/png" not in outputs[2].data and "figure omitted" in outputs[2].data["text/plain"]
    assert nb.cells[0].outputs[2].data["image/png"] == png        # the graded notebook itself is untouched
