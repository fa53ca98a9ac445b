"""The invalid plugin configurations in docs/configuration.md are refused by `envoy --mode validate`; the
global rate-limit fragment in envoy/ratelimit.yaml (filter and cluster) validates inside the
gateway config (tests/e2e/test_fleet_tokens.py runs it)."""

import hashlib
import json
import os
import re

import pytest
import yaml

from e2e.conftest import ROOT
from e2e.keys import PERMANENT
from e2e.test_deploy_configs import envoy_validate, rendered, wasm_plugin

CONFIG_DOC = os.path.join(ROOT, "docs", "configuration.md")
HASH = hashlib.sha256(b"k").hexdigest()
VALID_PROJECTS = [{"name": "a", "key_sha256": HASH}]


def documented_invalid_configs():
    text = open(CONFIG_DOC, encoding="utf-8").read()
    m = re.search(r"<!-- invalid-plugin-configs[^>]*-->\s*```[a-z]*\n(.*?)```", text, re.S)
    assert m, "docs/configuration.md lost its invalid-plugin-configs block"
    lines = [ln.strip() for ln in m.group(1).splitlines() if ln.strip()]
    return [ln.replace("[...]", json.dumps(VALID_PROJECTS)).replace("<hash>", HASH) for ln in lines]


INVALID = documented_invalid_configs()


def test_the_docs_list_invalid_examples():
    assert len(INVALID) >= 10
    for line in INVALID:
        json.loads(line)  # each one is JSON: invalid for the filter, not for the parser


@pytest.mark.parametrize("plugin", INVALID)
def test_every_documented_invalid_config_fails_validate(plugin, tmp_path):
    cfg, _ = rendered()
    wasm_plugin(cfg)[1]["configuration"]["value"] = plugin
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode != 0, f"Envoy accepted {plugin}"
    assert "Unable to create Wasm plugin bedrock_openai" in r.stdout + r.stderr


def test_the_documented_policy_example_is_valid(tmp_path):
    text = open(CONFIG_DOC, encoding="utf-8").read()
    m = re.search(r"## Plugin configuration \(schema version 1\).*?```json\n(.*?)```", text, re.S)
    # Each project its own key hash (the filter refuses two projects sharing one).
    parts = m.group(1).split("<64 hex chars: SHA-256 of the project key>")
    example = json.loads("".join(p + (hashlib.sha256(str(i).encode()).hexdigest() if i < len(parts) - 1 else "")
                                 for i, p in enumerate(parts)))
    cfg, _ = rendered()
    wasm_plugin(cfg)[1]["configuration"]["value"] = json.dumps(example)
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]


def test_environment_credentials_validate_when_the_vm_has_them(tmp_path):
    plugin = {"version": 1, "projects": [{**VALID_PROJECTS[0], "policy": {"credentials": "environment"}}]}
    cfg, _ = rendered()
    _, config = wasm_plugin(cfg)
    config["configuration"]["value"] = json.dumps(plugin)
    config["vm_config"]["environment_variables"] = {"key_values": {
        "AWS_ACCESS_KEY_ID": PERMANENT["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": PERMANENT["secret_access_key"], "AWS_REGION": "us-east-1"}}
    assert envoy_validate(cfg, tmp_path).returncode == 0


def test_global_rate_limit_fragment_validates(tmp_path):
    frag = yaml.safe_load(open(os.path.join(ROOT, "envoy", "ratelimit.yaml"), encoding="utf-8"))
    cfg, _ = rendered()
    hcm, _ = wasm_plugin(cfg)
    i = next(i for i, f in enumerate(hcm["http_filters"]) if f["name"] == "envoy.filters.http.wasm")
    hcm["http_filters"].insert(i + 1, frag["http_filter"])
    hcm["http_filters"].insert(i, frag["charge_http_filter"])
    cfg["static_resources"]["clusters"].append(frag["cluster"])
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
