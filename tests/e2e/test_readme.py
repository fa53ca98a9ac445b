"""The README and docs/: the generated blocks (the layout of src/ in docs/architecture.md, the
model table in docs/models.md) are what scripts/readme.py makes; the README stays short and
keeps the contract's commands and names; every relative link resolves."""

import glob
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from e2e.conftest import ROOT

# The configs and docs of the deployments: the same with either build (conftest.py).
pytestmark = pytest.mark.build_independent


SCRIPT = os.path.join(ROOT, "scripts", "readme.py")
README = os.path.join(ROOT, "README.md")
README_MAX_LINES = 250


def script():
    spec = importlib.util.spec_from_file_location("readme", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_blocks_are_current():
    r = subprocess.run([sys.executable, SCRIPT, "--check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_each_block_lives_in_its_doc():
    blocks = script().BLOCKS
    assert {name: os.path.relpath(path, ROOT) for name, (path, _) in blocks.items()} == {
        "layout": os.path.join("docs", "architecture.md"), "models": os.path.join("docs", "models.md")}
    with open(README, encoding="utf-8") as f:
        readme = f.read()
    for name in blocks:
        begin, end = script().markers(name)
        assert begin not in readme and end not in readme, f"README.md still holds the {name} block"


def test_every_module_is_listed_once():
    listed = [line.split()[0] for line in script().layout_block().splitlines()[1:-1]]
    files = []
    for _, dirs, names in os.walk(os.path.join(ROOT, "src")):
        files += [n for n in names if n.endswith(".rs") and n not in ("mod.rs", "lib.rs")]
        files += [d + "/" for d in dirs]
    assert sorted(listed) == sorted(["src/", *files])


def test_the_model_table_has_one_row_per_catalog_model():
    with open(os.path.join(ROOT, "src", "catalog", "models.json")) as f:
        models = json.load(f)["models"]
    rows = script().models_block().splitlines()[2:]
    assert [r.split("|")[1].strip().strip("`") for r in rows] == [m["id"] for m in models]


def test_the_readme_reads_in_five_minutes():
    with open(README, encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"


def test_the_readme_keeps_the_contract():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    for command in (
        "make run    # build the filter and start the gateway (Envoy + filter) in the foreground; Ctrl-C stops it",
        "make test   # every test: lint, unit tests, wasm and native builds, end-to-end tests against a real Envoy "
        "(each build), fuzz smoke",
    ):
        assert command in text
    for name in ("GATEWAY_PORT", "ADMIN_PORT", "PROJECT_API_KEYS", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
                 "BEDROCK_MODELS_FILE", "Project-Api-Key", "aws-access-key-id", "aws-secret-access-key",
                 "aws-session-token", "aws-region-name", "aws-bearer-token-bedrock",
                 "POST /chat/completions", "GET /models", "GATEWAY_FILTER"):
        assert name in text, f"README.md lost {name}"


FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def markdown_files():
    return [README, *sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))]


def prose(path):
    """The file's text without its fenced code blocks."""
    with open(path, encoding="utf-8") as f:
        return FENCE.sub("", f.read())


def anchors(path):
    """The anchors GitHub gives the file's headings."""
    seen, out = {}, set()
    for heading in HEADING.findall(prose(path)):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def relative_links():
    """(file, link) for every relative link in the README and docs/."""
    for path in markdown_files():
        for target in LINK.findall(prose(path)):
            if not re.match(r"[a-z][a-z0-9+.-]*:", target):
                yield path, target


def test_there_are_docs_to_check():
    names = {os.path.relpath(p, ROOT) for p in markdown_files()}
    assert {"README.md", os.path.join("docs", "architecture.md"), os.path.join("docs", "models.md"),
            os.path.join("docs", "configuration.md"), os.path.join("docs", "api", "chat-completions.md")} <= names
    assert len(list(relative_links())) > 20


def test_every_relative_link_resolves():
    broken = []
    for path, target in relative_links():
        file, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
        where = f"{os.path.relpath(path, ROOT)}: {target}"
        if not resolved.startswith(ROOT + os.sep) or not os.path.exists(resolved):
            broken.append(f"{where} (no such file in the repository)")
        elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
            broken.append(f"{where} (no such heading)")
    assert not broken, "\n".join(broken)
