"""The README's generated blocks (the layout of src/, the model table) are what scripts/readme.py makes."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from e2e.conftest import ROOT

# The configs and docs of the deployments: the same with either build (conftest.py).
pytestmark = pytest.mark.build_independent


SCRIPT = os.path.join(ROOT, "scripts", "readme.py")


def script():
    spec = importlib.util.spec_from_file_location("readme", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_blocks_are_current():
    r = subprocess.run([sys.executable, SCRIPT, "--check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


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
