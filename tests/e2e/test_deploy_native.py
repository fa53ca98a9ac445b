"""The dynamic module's deployment configs: envoy/envoy-native.yaml (generated, as the
`native` compose profile mounts it), the compose profile, and the Envoy Gateway example.
Each loads in the real Envoy with the built module, and a bad plugin configuration makes
Envoy refuse to start, as with the .wasm (test_deploy_configs.py)."""

import json
import os

import pytest
import yaml

from e2e.conftest import NATIVE, ROOT, hcm_of, plugin_configuration
from e2e.test_deploy_configs import (
    BAD_PLUGIN_CONFIGS,
    COMPOSE,
    DEV_KEY,
    VALID,
    derived_item_key,
    envoy_validate,
    rendered,
    sha,
)

pytestmark = pytest.mark.build_independent

ENVOY_NATIVE_YAML = os.path.join(ROOT, "envoy", "envoy-native.yaml")
NATIVE_COMPOSE = os.path.join(ROOT, "deploy", "compose", "native.yml")
EG_DIR = os.path.join(ROOT, "deploy", "envoy-gateway")
CONTAINER_MODULE = "/etc/envoy/libbedrock_openai_filter.so"
REFUSED = "Failed to create filter config: Failed to initialize dynamic module"


@pytest.fixture(scope="module", autouse=True)
def built_module():
    if not os.path.isfile(NATIVE):
        pytest.fail(f"{NATIVE} missing: run `make native` (make test does)")


def module_config(cfg):
    hcm = hcm_of(cfg)
    (f,) = [f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.dynamic_modules"]
    return f["typed_config"]["dynamic_module_config"]


def test_envoy_native_yaml_is_what_the_launcher_renders():
    """envoy/envoy-native.yaml is generated; it must not drift from scripts/gateway.py."""
    cfg, _ = rendered(build="native")
    module_config(cfg)["module"]["local"]["filename"] = CONTAINER_MODULE
    with open(ENVOY_NATIVE_YAML) as f:
        committed = yaml.safe_load(f)
    assert committed == cfg, ("envoy/envoy-native.yaml is stale: regenerate it (its header says how)")
    assert json.loads(plugin_configuration(committed)["value"]) == {
        "version": 1, "projects": [{"name": "dev", "key_sha256": sha(DEV_KEY)}],
        "responses": {"item_key": derived_item_key(DEV_KEY)}}
    assert module_config(committed)["do_not_close"] is True


def test_envoy_native_yaml_validates_with_the_module(tmp_path):
    with open(ENVOY_NATIVE_YAML) as f:
        cfg = yaml.safe_load(f)
    module_config(cfg)["module"]["local"]["filename"] = NATIVE
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "bedrock-openai-filter: configured 1 project(s)" in r.stdout + r.stderr


@pytest.mark.parametrize("case", list(BAD_PLUGIN_CONFIGS))
def test_bad_plugin_config_fails_validation(case, tmp_path):
    plugin = BAD_PLUGIN_CONFIGS[case]
    cfg, _ = rendered(build="native")
    plugin_configuration(cfg)["value"] = plugin if isinstance(plugin, str) else json.dumps(plugin)
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode != 0, f"{case}: Envoy accepted it\n{r.stderr[-2000:]}"
    assert REFUSED in r.stdout + r.stderr


def test_the_native_compose_profile_mounts_what_envoy_native_yaml_expects():
    with open(COMPOSE) as f:
        compose = yaml.safe_load(f)
    [inc] = [i for i in compose["include"] if os.path.normpath(os.path.join(ROOT, i["path"])) == NATIVE_COMPOSE]
    assert inc["project_directory"] == "."
    with open(NATIVE_COMPOSE) as f:
        services = yaml.safe_load(f)["services"]
    assert set(services) == {"gateway-native"}
    gw, main = services["gateway-native"], compose["services"]["gateway"]
    assert gw["profiles"] == ["native"]
    assert gw["image"] == main["image"] and gw["command"] == main["command"]
    mounts = {}
    for v in gw["volumes"]:
        host, container, mode = v.rsplit(":", 2)  # the host path holds a ${VAR:-default}
        assert mode == "ro"
        mounts[container] = os.path.normpath(os.path.join(ROOT, host.replace("${NATIVE_ARCH:-x86_64}", "x86_64")))
    assert mounts == {"/etc/envoy/envoy.yaml": ENVOY_NATIVE_YAML,
                      CONTAINER_MODULE: os.path.join(ROOT, "target", "dist",
                                                     "libbedrock_openai_filter-x86_64-linux-gnu.so")}
    assert gw["ports"] == ["10002:10000"]
    with open(ENVOY_NATIVE_YAML) as f:
        cfg = yaml.safe_load(f)
    assert module_config(cfg)["module"]["local"]["filename"] == CONTAINER_MODULE


# ------------------------------------------------------------ Envoy Gateway


def eg(name):
    with open(os.path.join(EG_DIR, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def test_envoy_gateway_example_fits_together(tmp_path):
    (proxy,) = eg("envoyproxy.yaml")
    (policy,) = eg("extensionpolicy.yaml")
    gateway, route, backend = eg("gateway.yaml")
    assert proxy["kind"] == "EnvoyProxy" and policy["kind"] == "EnvoyExtensionPolicy"
    (entry,) = proxy["spec"]["dynamicModules"]
    (dm,) = policy["spec"]["dynamicModule"]
    assert dm["name"] == entry["name"] and dm["filterName"] == "bedrock_openai"
    assert entry["source"]["type"] == "Local" and entry["doNotClose"] is True
    # The module's path is inside the volume the proxy container mounts.
    deployment = proxy["spec"]["provider"]["kubernetes"]["envoyDeployment"]
    (mount,) = deployment["container"]["volumeMounts"]
    assert entry["source"]["local"]["path"] == os.path.join(mount["mountPath"], "libbedrock_openai_filter.so")
    assert [v["name"] for v in deployment["pod"]["volumes"]] == [mount["name"]]
    # The proxy is the Envoy release the module is built for (the one the tests run).
    with open(COMPOSE) as f:
        tested = yaml.safe_load(f)["services"]["gateway"]["image"].split(":")[1]
    assert deployment["container"]["image"] == f"envoyproxy/envoy:distroless-{tested}"
    # The metrics read as the wasm build's.
    layers = yaml.safe_load(proxy["spec"]["bootstrap"]["value"])["layered_runtime"]["layers"]
    assert layers[0]["static_layer"] == {"envoy.reloadable_features.dynamic_modules_strip_custom_stat_prefix": True}
    # The policy applies to the Gateway, whose route sends every path to Bedrock's hosts.
    (target,) = policy["spec"]["targetRefs"]
    assert (target["kind"], target["name"]) == ("Gateway", gateway["metadata"]["name"])
    assert gateway["spec"]["infrastructure"]["parametersRef"]["name"] == proxy["metadata"]["name"]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert rule["backendRefs"][0]["name"] == backend["metadata"]["name"]
    assert backend["spec"]["type"] == "DynamicResolver"
    # EG hands `config` to the module as JSON: the module must accept it.
    config = dm["config"]
    assert config["projects"] and config["version"] == 1
    cfg, _ = rendered(build="native")
    plugin_configuration(cfg)["value"] = json.dumps(config)
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode == 0, r.stderr


def test_envoy_gateway_module_image_carries_both_architectures():
    with open(os.path.join(EG_DIR, "Dockerfile")) as f:
        text = f.read()
    for arch in ("x86_64", "aarch64"):
        assert f"target/dist/libbedrock_openai_filter-{arch}-linux-gnu.so /libbedrock_openai_filter.so" in text
    assert "FROM ${TARGETARCH}" in text


def test_the_good_configuration_validates(tmp_path):
    """Control for the refusals above: the same harness accepts a good configuration."""
    cfg, _ = rendered(build="native")
    plugin_configuration(cfg)["value"] = json.dumps(VALID)
    assert envoy_validate(cfg, tmp_path).returncode == 0
