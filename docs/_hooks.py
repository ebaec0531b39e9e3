"""MkDocs hooks of the documentation site (`hooks:` in mkdocs.yml).

- `on_config`: the repository address comes from pyproject.toml's
  `[project.urls] Repository`, the one place it is written (the notebooks'
  badges use it too), and the nav's `recipes/` and `reference/` entries
  become one page per recipe and one API page per module.
- `on_files`: those pages are generated, the recipe pages from each recipe
  module (`_recipe_pages.py`), the API pages from each module's `__all__`
  (`_api_pages.py`), so a new recipe or a new public name gets its page
  without an edit here.
- `on_post_build`: MathJax 2.7 is copied into the site from the
  `jupyter-server-mathjax` wheel (the `docs` extra), so the formulas render
  with no network: the site works offline, and the browser test sees them.
"""

import importlib.util
import os
import pathlib
import shutil
import sys
import tomllib

from mkdocs.structure.files import File

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS))

import _api_pages  # noqa: E402  (beside this file, not a package)
import _recipe_pages  # noqa: E402


def repository_url():
    """pyproject.toml's `[project.urls] Repository`."""
    with open(ROOT / "pyproject.toml", "rb") as stream:
        return tomllib.load(stream)["project"]["urls"]["Repository"]


_pages = {}  # path in docs -> markdown, of every generated page; made in on_config


def _expand(nav, config):
    """`nav` with the entries `recipes/` and `reference/` replaced by their pages."""
    generated = {"recipes/": _recipe_pages.nav(), "reference/": _api_pages.nav()}
    expanded = []
    for entry in nav:
        if isinstance(entry, dict):
            (title, value), = entry.items()
            if isinstance(value, list):
                value = _expand(value, config)
            elif value in generated:
                value = generated[value]
            expanded.append({title: value})
        else:
            expanded.append(entry)
    return expanded


def on_config(config):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if config.get("repo_url"):
        raise ValueError("mkdocs.yml must not set repo_url: it is read from pyproject.toml's "
                         "[project.urls] Repository")
    config["repo_url"] = repository_url()
    config["repo_name"] = "/".join(config["repo_url"].rstrip("/").split("/")[-2:])
    config["edit_uri"] = "edit/main/docs/"
    config["nav"] = _expand(config["nav"], config)
    _pages.clear()
    _pages.update(_api_pages.pages())
    _pages.update(_recipe_pages.pages(config["repo_url"]))
    return config


def on_files(files, config):
    for path, text in _pages.items():
        files.append(File.generated(config, path, content=text))
    return files


MATHJAX_FOLDER = "assets/mathjax"  # in the built site; mkdocs.yml's extra_javascript loads it


def mathjax_static():
    """The folder of MathJax 2.7 that the `jupyter-server-mathjax` wheel ships."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None:
        raise RuntimeError("the docs site renders formulas with MathJax from the "
                           "jupyter-server-mathjax package: pip install -e '.[docs]'")
    return pathlib.Path(spec.origin).parent / "static"


def on_post_build(config):
    shutil.copytree(mathjax_static(), pathlib.Path(config["site_dir"]) / MATHJAX_FOLDER,
                    ignore=shutil.ignore_patterns("localization"), dirs_exist_ok=True)
