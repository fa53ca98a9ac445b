"""The `micro` part: the native micro-benchmarks (`cargo bench --locked --bench micro`, benches/micro.rs)."""

import json
import os
import re
import subprocess

from harness import ROOT
from results import MicroRow


def micro():
    """One MicroRow per MICRO line of benches/micro.rs."""
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        if not re.search(r'\[\[bench\]\][^\[]*name\s*=\s*"micro"[^\[]*harness\s*=\s*false', f.read()):
            raise RuntimeError('Cargo.toml has no [[bench]] name = "micro", harness = false')
    r = subprocess.run(["cargo", "bench", "--locked", "--bench", "micro"], cwd=ROOT, capture_output=True,
                       text=True, timeout=1200)
    rows = [MicroRow.from_json(json.loads(m)) for m in re.findall(r"^MICRO (.*)$", r.stdout, re.M)]
    if r.returncode != 0 or not rows:
        why = r.stderr.strip().splitlines()[-5:] if r.returncode else \
            ["no MICRO lines: does Cargo.toml have [[bench]] name = \"micro\", harness = false?"]
        raise RuntimeError("cargo bench --bench micro: " + " | ".join(why))
    return rows
