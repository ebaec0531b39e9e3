"""The documentation site builds strictly, holds every public name, and a
real browser finds the ways in from the home page.

`mkdocs build --strict` fails on a broken link or anchor, a page missing
from the nav, and an API name mkdocstrings cannot find. On top of the
build: every name in a module's `__all__` has its entry in the site's
inventory (objects.inv), the site's repository link is pyproject.toml's, and
headless Chromium (Debian's `chromium`) renders the home page with a link
to each task a newcomer comes for.
"""

import fcntl
import importlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tomllib
import zlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))
import _api_pages  # noqa: E402

# What a newcomer looks for, and the page that answers it (one click from home).
TASKS = {
    "LARS with GhostBatchNormalization in my own compile/fit": "getting-started/",
    "my own model and data": "how-to/own-model-and-data/",
    "training on 2 GPUs": "how-to/distributed/",
    "resuming after preemption": "how-to/resume/",
    "tuning": "how-to/tuning/",
}


def _build(folder):
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(folder)],
                           cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert build.returncode == 0, build.stderr[-6000:]
    (folder / ".built").touch()


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    # One build per test run: pytest-xdist's workers of one run share it (under
    # a lock; xdist_group does not keep a module on one worker with pytest 9).
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:
        folder = tmp_path_factory.mktemp("site")
        _build(folder)
        return folder
    folder = tmp_path_factory.getbasetemp().parent / f"site-{run}"
    with open(tmp_path_factory.getbasetemp().parent / f"site-{run}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".built").exists():
            _build(folder)
    return folder


def _inventory(site):
    """The names in the site's Sphinx inventory (objects.inv, written by mkdocstrings)."""
    data = (site / "objects.inv").read_bytes()
    body = zlib.decompress(data.split(b"\n", 4)[4]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines()}


def test_every_public_name_has_an_api_entry(site):
    names = _inventory(site)
    missing = []
    for module in _api_pages.MODULES:
        imported = importlib.import_module(f"keras_bigbatch.{module}")
        exported = getattr(imported, "__all__", None) or _api_pages.exported_names(module)
        page = (site / "reference" / module / "index.html").read_text()
        for name in exported:
            path = f"keras_bigbatch.{module}.{name}"
            if path in names:
                continue
            # A name loaded on first access is rendered from its defining module,
            # with an anchor at the path it is exported under.
            defined_in = _api_pages._defining_module(module, name)
            if not (defined_in and f"{defined_in}.{name}" in names and f'id="{path}"' in page):
                missing.append(path)
    assert missing == []


def test_every_recipe_has_a_page(site):
    from keras_bigbatch import training

    for name in training.recipe_names():
        page = (site / "recipes" / name / "index.html").read_text()
        assert f"keras-bigbatch train {name}" in page and "Against the published" in page


def test_the_repository_link_is_pyprojects(site):
    with open(ROOT / "pyproject.toml", "rb") as stream:
        url = tomllib.load(stream)["project"]["urls"]["Repository"]
    assert f'href="{url}"' in (site / "index.html").read_text()
    assert not re.search(r"^repo_url:", (ROOT / "mkdocs.yml").read_text(), flags=re.M)


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_a_browser_finds_each_task_from_the_home_page(site):
    dom = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                          "--dump-dom", (site / "index.html").as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert "keras_bigbatch" in dom
    for task, page in TASKS.items():
        assert f'href="{page}"' in dom or f'href="./{page}"' in dom, task
        assert (site / page / "index.html").exists(), task


def test_links_into_the_repository_use_pyprojects_address():
    # Badges and file links name the repository; the address is written once.
    with open(ROOT / "pyproject.toml", "rb") as stream:
        path = tomllib.load(stream)["project"]["urls"]["Repository"].split("github.com/", 1)[1]
    pages = [ROOT / "README.md", ROOT / "notebooks" / "README.md", *(ROOT / "docs").rglob("*.md")]
    wrong = []
    for page in pages:
        for link in re.findall(r"https?://[^\s)\"']*(?:/blob/main/|colab\.research\.google\.com/"
                               r"github/|kernels/welcome\?src=)[^\s)\"']*", page.read_text()):
            if f"github.com/{path}/" not in link and f"/github/{path}/" not in link:
                wrong.append(f"{page.relative_to(ROOT)}: {link}")
    assert wrong == []


@pytest.mark.skipif(_chromium() is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_formulas_are_typeset_offline(site):
    # MathJax comes with the site (docs/_hooks.py), so a page's formulas render
    # with no network: every arithmatex span holds MathJax's output.
    page = site / "concepts" / "trust-ratio" / "index.html"
    formulas = page.read_text().count('class="arithmatex"')
    dom = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                          "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert formulas >= 5
    assert dom.count('class="MathJax_Preview"') + dom.count('id="MathJax-Element-') >= formulas
    assert "Math Processing Error" not in dom
