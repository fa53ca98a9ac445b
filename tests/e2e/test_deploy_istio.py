"""The Istio manifests in deploy/istio/: each document is valid against the CRD
schema of its kind, and what they hand the filter is a plugin configuration the
filter accepts.

The CRD schemas come from the npm package @kubernetes-models/istio (validators
generated from Istio's CRD OpenAPI schemas), installed in tests/node by
`make node`. Those schemas, like Kubernetes, allow unknown fields (the API
server prunes them), so a misspelt field would pass: the test also checks each
field name against the package's type definitions for the kind.
"""

import glob
import json
import os
import shutil
import subprocess

import pytest
import yaml

from e2e.conftest import ROOT, TESTS_DIR, plugin_configuration
from e2e.test_deploy_configs import envoy_validate, rendered, wasm_plugin

# The configs and docs of the deployments: the same with either build (conftest.py).
pytestmark = pytest.mark.build_independent

ISTIO_DIR = os.path.join(ROOT, "deploy", "istio")
NODE_DIR = os.path.join(TESTS_DIR, "node")
PKG = os.path.join(NODE_DIR, "node_modules", "@kubernetes-models", "istio")
MANIFESTS = sorted(glob.glob(os.path.join(ISTIO_DIR, "*.yaml")))

# Reads [{doc, freeform: [[path...]]}] on stdin; prints [{errors, unknown}] on stdout.
VALIDATE_JS = r"""
import fs from "node:fs";
const jobs = JSON.parse(fs.readFileSync(0, "utf8"));
const out = [];
const MAPS = new Set(["matchLabels", "labels"]);  // string maps: any key
for (const { doc, freeform } of jobs) {
  const [group, version] = doc.apiVersion.split("/");
  const base = `@kubernetes-models/istio/${group}/${version}/${doc.kind}`;
  const mod = await import(base);
  const Model = mod[doc.kind];
  let errors = null;
  try { new Model(doc).validate(); } catch (e) { errors = String(e.message || e); }
  // Every property name the CRD defines for this kind, from its .d.ts.
  const dts = fs.readFileSync(`node_modules/${base}.d.ts`, "utf8");
  const known = new Set([...dts.matchAll(/^\s*"([^"]+)"\??:/gm)].map(m => m[1]));
  const unknown = [];
  const skip = new Set(freeform.map(p => p.join(".")));
  const walk = (v, path) => {
    if (skip.has(path.filter(p => typeof p === "string").join("."))) return;
    if (Array.isArray(v)) { v.forEach((x, i) => walk(x, [...path, i])); return; }
    if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (!known.has(k) && !MAPS.has(path[path.length - 1])) unknown.push([...path, k].join("."));
        walk(x, [...path, k]);
      }
    }
  };
  walk(doc.spec, ["spec"]);
  out.push({ errors, unknown });
}
console.log(JSON.stringify(out));
"""

# Subtrees the CRDs type as free-form objects (protobuf Struct / Any).
FREEFORM = {
    "WasmPlugin": [["spec", "pluginConfig"]],
    "EnvoyFilter": [["spec", "configPatches", "patch", "value"]],
    "Gateway": [["spec", "selector"]],  # a string map
}


@pytest.fixture(scope="module", autouse=True)
def schema_package():
    if shutil.which("node") is None:
        pytest.fail("node not found")
    if not os.path.isdir(PKG):
        pytest.fail(f"{PKG} missing: run `make node` (@kubernetes-models/istio in tests/node/package.json)")


def check(docs):
    jobs = [{"doc": d, "freeform": FREEFORM.get(d["kind"], [])} for d in docs]
    r = subprocess.run(["node", "--input-type=module", "-e", VALIDATE_JS], cwd=NODE_DIR,
                       input=json.dumps(jobs), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def load(name):
    with open(os.path.join(ISTIO_DIR, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def all_docs():
    return [(os.path.basename(p), i, d) for p in MANIFESTS for i, d in enumerate(load(os.path.basename(p)))]


def test_manifests_present():
    names = {os.path.basename(p) for p in MANIFESTS}
    assert {"wasmplugin.yaml", "envoyfilter.yaml", "native-envoyfilter.yaml", "egress.yaml"} <= names
    kinds = sorted(d["kind"] for _, _, d in all_docs())
    assert kinds == ["DestinationRule", "EnvoyFilter", "EnvoyFilter", "Gateway", "ServiceEntry",
                     "VirtualService", "WasmPlugin"]


@pytest.mark.parametrize("name,i,doc", all_docs(), ids=lambda x: x if isinstance(x, str) else None)
def test_manifest_matches_crd_schema(name, i, doc):
    (res,) = check([doc])
    assert res["errors"] is None, f"{name} #{i} ({doc['kind']}): {res['errors']}"
    assert res["unknown"] == [], f"{name} #{i} ({doc['kind']}): fields not in the CRD: {res['unknown']}"


def test_schema_check_catches_mistakes():
    """Control: the same harness rejects a bad enum, a wrong type and a misspelt field."""
    (wp,) = load("wasmplugin.yaml")
    bad_phase = json.loads(json.dumps(wp))
    bad_phase["spec"]["phase"] = "ROUTING"
    bad_type = json.loads(json.dumps(wp))
    bad_type["spec"]["priority"] = "high"
    typo = json.loads(json.dumps(wp))
    typo["spec"]["failStratgy"] = typo["spec"].pop("failStrategy")
    r_phase, r_type, r_typo = check([bad_phase, bad_type, typo])
    assert r_phase["errors"] and "phase" in r_phase["errors"]
    assert r_type["errors"] and "priority" in r_type["errors"]
    assert r_typo["unknown"] == ["spec.failStratgy"]


# ------------------------------------------------------------ what the filter gets


def filter_accepts(plugin_json, tmp_path):
    cfg, _ = rendered()
    wasm_plugin(cfg)[1]["configuration"]["value"] = plugin_json
    return envoy_validate(cfg, tmp_path)


def test_wasmplugin(tmp_path):
    (wp,) = load("wasmplugin.yaml")
    spec = wp["spec"]
    assert wp["apiVersion"] == "extensions.istio.io/v1alpha1"
    assert spec["url"].startswith("oci://") and "/bedrock-openai-filter:" in spec["url"]
    assert spec["phase"] == "AUTHN"
    assert spec["failStrategy"] == "FAIL_CLOSE"
    assert spec["imagePullPolicy"] in ("IfNotPresent", "Always")
    assert spec["selector"]["matchLabels"]
    assert spec["pluginConfig"]["version"] == 1
    # Istio passes pluginConfig to the filter as JSON: the filter must accept it.
    r = filter_accepts(json.dumps(spec["pluginConfig"]), tmp_path)
    assert r.returncode == 0, r.stderr


def test_envoyfilter_carries_stop_iteration_knob(tmp_path):
    (ef,) = load("envoyfilter.yaml")
    ext, http, hcm = ef["spec"]["configPatches"]
    assert ext["applyTo"] == "EXTENSION_CONFIG" and ext["patch"]["operation"] == "ADD"
    value = ext["patch"]["value"]
    assert value["typed_config"]["type_url"] == "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
    config = value["typed_config"]["value"]["config"]
    assert config["allow_on_headers_stop_iteration"] is True
    assert config["fail_open"] is False
    (wp,) = load("wasmplugin.yaml")
    assert config["vm_config"]["code"]["remote"]["http_uri"]["uri"] == wp["spec"]["url"]
    assert http["applyTo"] == "HTTP_FILTER" and http["patch"]["value"]["name"] == value["name"]
    assert http["patch"]["value"]["config_discovery"]["type_urls"] == [value["typed_config"]["type_url"]]
    # The connection manager gets the same bounds as envoy/envoy.yaml.
    assert hcm["applyTo"] == "NETWORK_FILTER" and hcm["patch"]["operation"] == "MERGE"
    with open(os.path.join(ROOT, "envoy", "envoy.yaml")) as f:
        shipped = yaml.safe_load(f)["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    merged = hcm["patch"]["value"]["typed_config"]
    assert merged["@type"] == shipped["typed_config"]["@type"]
    for key in ("request_timeout", "local_reply_config"):
        assert merged[key] == shipped["typed_config"][key], key
    # Same projects as the WasmPlugin, and a configuration the filter accepts.
    plugin = config["configuration"]["value"]
    assert json.loads(plugin)["projects"] == wp["spec"]["pluginConfig"]["projects"]
    r = filter_accepts(plugin, tmp_path)
    assert r.returncode == 0, r.stderr


def test_egress_covers_every_routed_region():
    docs = {d["kind"]: d for d in load("egress.yaml")}
    hosts = docs["ServiceEntry"]["spec"]["hosts"]
    assert all(h.startswith("bedrock-runtime.") and h.endswith(".amazonaws.com") for h in hosts)
    routes = docs["VirtualService"]["spec"]["http"]
    assert [r["match"][0]["authority"]["exact"] for r in routes] == hosts
    assert [r["route"][0]["destination"]["host"] for r in routes] == hosts
    assert set(docs["VirtualService"]["spec"]["hosts"]) == set(hosts)
    gw_hosts = {h.split("/")[-1] for h in docs["Gateway"]["spec"]["servers"][0]["hosts"]}
    assert set(hosts) <= gw_hosts
    (port,) = docs["ServiceEntry"]["spec"]["ports"]
    assert port["protocol"] == "HTTP" and port["targetPort"] == 443
    (tls,) = docs["DestinationRule"]["spec"]["trafficPolicy"]["portLevelSettings"]
    assert tls["port"]["number"] == port["number"] and tls["tls"]["mode"] == "SIMPLE"


def test_native_envoyfilter_inserts_the_dynamic_module(tmp_path):
    """The dynamic module's EnvoyFilter (docs/native.md, "Istio"): the same place, bounds and
    projects as envoyfilter.yaml, and a configuration the module accepts."""
    (native,) = load("native-envoyfilter.yaml")
    (wasm,) = load("envoyfilter.yaml")
    http, hcm = native["spec"]["configPatches"]
    assert native["spec"]["workloadSelector"] == wasm["spec"]["workloadSelector"]
    assert http["applyTo"] == "HTTP_FILTER" and http["patch"]["operation"] == "INSERT_FIRST"
    assert http["match"] == wasm["spec"]["configPatches"][1]["match"]
    assert hcm == wasm["spec"]["configPatches"][2]
    value = http["patch"]["value"]
    assert value["name"] == "envoy.filters.http.dynamic_modules"
    typed = value["typed_config"]
    assert typed["@type"] == "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter"
    assert typed["dynamic_module_config"]["do_not_close"] is True
    assert typed["dynamic_module_config"]["module"]["local"]["filename"].endswith("/libbedrock_openai_filter.so")
    plugin = typed["filter_config"]["value"]
    wasm_plugin_json = wasm["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["value"]["config"]
    assert json.loads(plugin) == json.loads(wasm_plugin_json["configuration"]["value"])
    cfg, _ = rendered(build="native")
    plugin_configuration(cfg)["value"] = plugin
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode == 0, r.stderr
