"""The dynamic module and the Envoy the tests run agree on every symbol, checked on the files.

Envoy resolves the module's hooks (`envoy_dynamic_module_on_*`) by name when it loads
it, and the module calls Envoy's callbacks (`envoy_dynamic_module_callback_*`), which
Envoy's executable exports. A hook the module lacks, or a callback this Envoy does not
export, must fail here, not on the first request that needs it: the `.so` is also linked
with `-z now`, so such a callback would fail the load with its name.
"""

import os
import re
import subprocess

import envoy
import pytest

from e2e.conftest import NATIVE

ENVOY = os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy")

# The dynamic-module HTTP filter's hooks and the module's init: what Envoy looks for when it
# loads an HTTP filter module (Envoy's other extension kinds have hooks of their own). No NUL
# is required before a name: the linker stores some as the tail of a longer string.
HOOK = re.compile(rb"(envoy_dynamic_module_on_(?:http_filter_[a-z0-9_]+|program_init))\x00")

pytestmark = pytest.mark.build_independent


def dynamic_symbols(path, which):
    """Names in `path`'s dynamic symbol table: `--defined-only` or `--undefined-only`."""
    out = subprocess.run(["nm", "-D", which, path], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}


def hooks_envoy_looks_for(binary):
    """Every hook name the Envoy binary holds as a string (the names it passes to dlsym)."""
    with open(binary, "rb") as f:
        data = f.read()
    return {m.group(1).decode() for m in HOOK.finditer(data)}


def missing(module_defined, module_undefined, envoy_defined, envoy_hooks):
    """(hooks Envoy looks for that the module lacks, callbacks the module needs that Envoy lacks)."""
    callbacks = {s for s in module_undefined if s.startswith("envoy_dynamic_module_callback_")}
    return sorted(envoy_hooks - module_defined), sorted(callbacks - envoy_defined)


@pytest.fixture(scope="module")
def module():
    if not os.path.isfile(NATIVE):
        pytest.fail(f"{NATIVE} missing: run `make native` (make test does)")
    return NATIVE


def test_every_hook_envoy_looks_for_and_every_callback_the_module_needs_resolve(module):
    envoy_hooks = hooks_envoy_looks_for(ENVOY)
    # Today's list: the required hooks, the optional ones (config callouts and streams,
    # local replies, per-route configs) and the module's init.
    assert len(envoy_hooks) >= 30, sorted(envoy_hooks)
    assert {"envoy_dynamic_module_on_program_init", "envoy_dynamic_module_on_http_filter_new",
            "envoy_dynamic_module_on_http_filter_request_headers"} <= envoy_hooks
    defined = dynamic_symbols(module, "--defined-only")
    undefined = dynamic_symbols(module, "--undefined-only")
    lacks, unresolved = missing(defined, undefined, dynamic_symbols(ENVOY, "--defined-only"), envoy_hooks)
    assert lacks == [], f"hooks this Envoy looks for that the module does not export: {lacks}"
    assert unresolved == [], f"callbacks the module calls that this Envoy does not export: {unresolved}"
    # The module exports its hooks and nothing of its own beyond them.
    exported = {s for s in defined if s.startswith("envoy_")}
    assert exported == {s for s in defined if s.startswith("envoy_dynamic_module_on_")}
    assert exported - envoy_hooks == set(), "hooks this Envoy never calls"


def test_a_missing_symbol_is_named():
    """The check itself: a hook or callback missing on either side is reported by name."""
    hooks = {"envoy_dynamic_module_on_program_init", "envoy_dynamic_module_on_http_filter_new"}
    assert missing({"envoy_dynamic_module_on_program_init"}, set(), set(), hooks) == \
        (["envoy_dynamic_module_on_http_filter_new"], [])
    assert missing(hooks, {"envoy_dynamic_module_callback_http_set_header", "memcpy"}, set(), hooks) == \
        ([], ["envoy_dynamic_module_callback_http_set_header"])


def test_callbacks_are_bound_at_load(module):
    """-z now: the dynamic loader binds every callback when Envoy loads the module."""
    out = subprocess.run(["readelf", "-d", module], capture_output=True, text=True, check=True).stdout
    assert re.search(r"\(FLAGS_1\)\s+Flags:.*\bNOW\b", out), out
