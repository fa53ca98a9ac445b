"""The layer check of `make lint` (scripts/layers.py) holds on the tree and
fails on an import against the order of docs/architecture.md."""

import os
import shutil
import subprocess
import sys

import pytest

# Reads the source tree only: the same with either build (conftest.py).
pytestmark = pytest.mark.build_independent

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "layers.py")


def run(root):
    return subprocess.run([sys.executable, SCRIPT, "--root", str(root)], capture_output=True, text=True)


def copy_tree(tmp_path):
    shutil.copytree(os.path.join(ROOT, "src"), tmp_path / "src")
    shutil.copytree(os.path.join(ROOT, "docs"), tmp_path / "docs")
    return tmp_path


def plant(tmp_path, rel, line):
    path = tmp_path / rel
    text = path.read_text()
    path.write_text(text.replace("\n", f"\n{line}\n", 1))


def test_the_tree_follows_the_order():
    r = run(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "every import points down the layer order" in r.stdout


def test_a_back_import_fails_naming_file_and_modules(tmp_path):
    root = copy_tree(tmp_path)
    plant(root, "src/aws/endpoint.rs", "use crate::api::Route;")
    r = run(root)
    assert r.returncode == 1
    assert "src/aws/endpoint.rs:2: aws imports api, a higher layer" in r.stdout


def test_a_grouped_import_and_a_path_in_code_are_read(tmp_path):
    root = copy_tree(tmp_path)
    plant(root, "src/catalog/resolve.rs", "use crate::{error::ApiError, policy::Policy};")
    plant(root, "src/bedrock/stream.rs", "fn f() -> Option<crate::conversation::Sampling> { None }")
    out = run(root).stdout
    assert "src/catalog/resolve.rs:2: catalog imports policy, a higher layer" in out
    assert "src/bedrock/stream.rs:2: bedrock imports conversation, a higher layer" in out


def test_modules_of_one_layer_may_not_import_each_other(tmp_path):
    root = copy_tree(tmp_path)
    plant(root, "src/outcome.rs", "use crate::secret::Redactor;")
    assert "outcome imports secret, a module of the same layer" in run(root).stdout


def test_tests_and_comments_are_not_read_and_new_modules_must_be_placed(tmp_path):
    root = copy_tree(tmp_path)
    plant(root, "src/aws/arn.rs", "// see crate::api for the routes")
    with open(root / "src/aws/arn.rs", "a") as f:
        f.write("\n#[cfg(test)]\nmod planted { use crate::api::Route; }\n")
    assert run(root).returncode == 0
    (root / "src" / "newcomer.rs").write_text("//! A module nobody placed.\n")
    r = run(root)
    assert r.returncode == 1 and "src/newcomer: a top-level module missing from the layer order" in r.stdout
