"""The README's layout section is what scripts/layout.py generates from src/."""

import os
import subprocess
import sys

from e2e.conftest import ROOT


def test_readme_layout_is_generated_from_the_tree():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "layout.py"), "--check"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_module_is_listed_once():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "layout.py")],
                       cwd=ROOT, capture_output=True, text=True, check=True)
    listed = [line.split()[0] for line in r.stdout.splitlines()[2:-2]]
    files = []
    for base, dirs, names in os.walk(os.path.join(ROOT, "src")):
        files += [n for n in names if n.endswith(".rs") and n not in ("mod.rs", "lib.rs")]
        files += [d + "/" for d in dirs]
    assert sorted(listed) == sorted(["src/", *files])
