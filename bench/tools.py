#!/usr/bin/env python3
"""The tools `make bench` uses beyond the project's own (.venv, the built .wasm files).

    .venv/bin/python bench/tools.py check     what is missing, and the command that installs it
    .venv/bin/python bench/tools.py install   install what is missing (`make bench-tools`)

bench/run.py only asks (missing(), venv()); it never installs anything. What
it lacks, it skips, naming the command here.

  Debian       wrk (every load case), binaryen's wasm-opt (the size part),
               nodejs (the wasm host part)
  bench/.venvs one venv per peer, from the system python3, each pinned:
               litellm  the LiteLLM proxy (its venv also ships the tiktoken
                        file bedrock-access-gateway needs offline)
               plot     matplotlib, for bench/results.png
               bag      bedrock-access-gateway's own src/requirements.txt; only
                        when BAG_DIR names its source (bench/run.py)
"""

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
VENVS = os.path.join(BENCH, ".venvs")
INSTALL = "make bench-tools"

# command -> Debian package
APT = {"wrk": "wrk", "wasm-opt": "binaryen", "node": "nodejs"}
# venv name -> pinned requirements (LiteLLM: the version of the published results)
PIP = {
    "litellm": ["litellm[proxy]==1.108.7"],
    "plot": ["matplotlib==3.11.2"],
}
BAG_HOWTO = ("`git clone https://github.com/aws-samples/bedrock-access-gateway` outside this repository "
             "and run `BAG_DIR=<that checkout> make bench`")


def say(msg):
    print(f"bench-tools: {msg}", file=sys.stderr, flush=True)


def command(tool):
    """The path of a Debian tool, or raise naming how to install it."""
    path = shutil.which(tool)
    if not path:
        raise RuntimeError(f"{tool} not installed: `{INSTALL}` (or apt-get install {APT[tool]})")
    return path


def _stamp(requirements):
    return hashlib.sha256(json.dumps(requirements).encode()).hexdigest()


def venv(name, requirements=None):
    """bench/.venvs/<name> if it holds exactly `requirements` (default PIP[name]), else raise."""
    requirements = PIP[name] if requirements is None else requirements
    path = os.path.join(VENVS, name)
    stamp = os.path.join(path, ".bench-stamp")
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == _stamp(requirements):
                return path
    how = f"BAG_DIR=... {INSTALL}" if name == "bag" else INSTALL
    raise RuntimeError(f"{os.path.relpath(path, ROOT)} missing or not {' '.join(requirements)}: `{how}`")


def bag_source():
    """(path of an extracted src/ copy in a temp dir, commit) of BAG_DIR, or raise with the reason."""
    where = os.environ.get("BAG_DIR", "").strip()
    if not where:
        raise RuntimeError(f"BAG_DIR not given (bedrock-access-gateway's source is not part of this "
                           f"repository): {BAG_HOWTO}")
    if not os.path.exists(where):
        raise RuntimeError(f"BAG_DIR={where}: no such file or directory: {BAG_HOWTO}")
    tmp = tempfile.mkdtemp(prefix="bench-bag-")
    atexit.register(shutil.rmtree, tmp, True)
    if os.path.isdir(os.path.join(where, "src", "api")):
        shutil.copytree(os.path.join(where, "src"), os.path.join(tmp, "src"))
        commit = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or "unknown"
    else:  # a git directory without a work tree (mirror, bare clone)
        git = ["git", "--git-dir", where]
        commit = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        archive = subprocess.run(git + ["archive", "HEAD", "src"], capture_output=True,
                                 check=True, timeout=120).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True, timeout=120)
    return os.path.join(tmp, "src"), commit


def bag_requirements(src):
    """bedrock-access-gateway's requirements, as its README installs them."""
    with open(os.path.join(src, "requirements.txt")) as f:
        return [ln.split("#")[0].strip() for ln in f if ln.split("#")[0].strip()]


def missing():
    """[(what, reason)] for everything `install` would install now."""
    out = []
    for tool in APT:
        try:
            command(tool)
        except RuntimeError as e:
            out.append((tool, str(e)))
    for name in PIP:
        try:
            venv(name)
        except RuntimeError as e:
            out.append((name, str(e)))
    if os.environ.get("BAG_DIR", "").strip():
        try:
            venv("bag", bag_requirements(bag_source()[0]))
        except RuntimeError as e:
            out.append(("bag", str(e)))
    return out


def install_venv(name, requirements):
    path = os.path.join(VENVS, name)
    say(f"installing {' '.join(requirements)} into {os.path.relpath(path, ROOT)}")
    if not os.path.exists(os.path.join(path, "bin", "python")):
        # The system python3, not the project venv's: each peer gets its own clean venv.
        subprocess.run(["python3", "-m", "venv", path], check=True, timeout=300)
    subprocess.run([os.path.join(path, "bin", "pip"), "install", "--quiet",
                    "--disable-pip-version-check", *requirements], check=True, timeout=1200)
    with open(os.path.join(path, ".bench-stamp"), "w") as f:
        f.write(_stamp(requirements))


def install():
    packages = [pkg for tool, pkg in APT.items() if not shutil.which(tool)]
    if packages:
        say(f"apt-get install {' '.join(packages)}")
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, timeout=1200)
    for name, requirements in PIP.items():
        try:
            venv(name)
        except RuntimeError:
            install_venv(name, requirements)
    try:
        reqs = bag_requirements(bag_source()[0])
    except RuntimeError as e:
        say(f"bag: not installed: {e}")
    else:
        try:
            venv("bag", reqs)
        except RuntimeError:
            install_venv("bag", reqs)
    left = missing()
    for what, why in left:
        say(f"still missing: {what}: {why}")
    return 1 if left else 0


def main(argv):
    if argv == ["install"]:
        return install()
    if argv == ["check"]:
        left = missing()
        for what, why in left:
            print(f"{what}: {why}")
        return 1 if left else 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
