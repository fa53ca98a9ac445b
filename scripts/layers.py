#!/usr/bin/env python3
"""The layer check of `make lint`: imports between the top-level modules of
src/ point one way only, down the layer order written in docs/architecture.md.

The order is the fenced block after "## Layers" in docs/architecture.md: one
layer per line, lowest first, `name: what it is`; a line may name several
modules (`a, b: ...`), which then may not import each other. A module may use
`crate::<m>` only for an `m` on a lower line. Code in `#[cfg(test)]` blocks
(this crate's unit tests, at the end of a file) and comments are not read:
a test may reach anywhere, and a doc may mention anything.

    python3 scripts/layers.py [--root DIR]     exit 1 and list every import against the order
"""

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
USE_GROUP = re.compile(r"\buse\s+crate::\{([^}]*)\}", re.S)


def layer_order(root):
    """[(line number, {module, ...})] from docs/architecture.md, lowest first."""
    path = os.path.join(root, "docs", "architecture.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    at = text.find("## Layers")
    if at < 0:
        raise SystemExit(f"{path}: no '## Layers' section")
    block = re.search(r"```[a-z]*\n(.*?)```", text[at:], re.S)
    if not block:
        raise SystemExit(f"{path}: the '## Layers' section has no fenced block")
    layers = []
    for line in block.group(1).splitlines():
        names = line.split(":", 1)[0].strip()
        if names:
            layers.append({n.strip() for n in names.split(",") if n.strip()})
    return layers


def code_of(text):
    """The text before the first `#[cfg(test)]`, with comments blanked (line numbers kept)."""
    i = text.find("#[cfg(test)]")
    if i >= 0:
        text = text[:i]
    return "\n".join(re.sub(r"//.*", "", line) for line in text.split("\n"))


def imports(root):
    """(module, imported module, file, line) for every `crate::` path outside tests and comments."""
    src = os.path.join(root, "src")
    for top, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(top, name)
            rel = os.path.relpath(path, src)
            first = rel.split(os.sep)[0]
            me = first[:-3] if first.endswith(".rs") else first
            if me in ("lib", "main"):
                continue
            with open(path, encoding="utf-8") as f:
                code = code_of(f.read())
            for n, line in enumerate(code.split("\n"), 1):
                for target in PATH.findall(line):
                    yield me, target, os.path.relpath(path, root), n
            for m in USE_GROUP.finditer(code):
                n = code.count("\n", 0, m.start()) + 1
                for item in m.group(1).split(","):
                    target = item.strip().split("::")[0]
                    if target:
                        yield me, target, os.path.relpath(path, root), n


def check(root):
    """The violations: one line each."""
    layers = layer_order(root)
    level = {m: i for i, names in enumerate(layers) for m in names}
    src = os.path.join(root, "src")
    modules = {f[:-3] if f.endswith(".rs") else f for f in os.listdir(src)} - {"lib", "main"}
    problems = [f"src/{m}: a top-level module missing from the layer order" for m in sorted(modules - set(level))]
    for me, target, path, line in imports(root):
        if target in ("self", "super", me) or target not in modules:
            continue
        if me not in level or target not in level:
            continue
        if level[target] >= level[me]:
            how = "a module of the same layer" if level[target] == level[me] else "a higher layer"
            problems.append(f"{path}:{line}: {me} imports {target}, {how} (docs/architecture.md, Layers)")
    return sorted(set(problems))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=ROOT)
    args = ap.parse_args()
    problems = check(args.root)
    for p in problems:
        print(p)
    if problems:
        print(f"layers: {len(problems)} import(s) against the layer order")
        return 1
    print("layers: every import points down the layer order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
