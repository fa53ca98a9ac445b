"""scripts/gateway.py's render(), called directly: a pure function of the template,
the environment mapping and the arguments (no Envoy, no os.environ, no files)."""

import argparse
import copy
import hashlib
import json
import os
import sys

import pytest
import yaml

from e2e.conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import gateway  # noqa: E402

# The configs and docs of the deployments: the same with either build (conftest.py).
pytestmark = pytest.mark.build_independent

with open(os.path.join(ROOT, "envoy", "envoy.yaml"), encoding="utf-8") as f:
    TEMPLATE_TEXT = f.read()
TEMPLATE = yaml.safe_load(TEMPLATE_TEXT)
WASM = "/opt/filters/bedrock_openai_filter.wasm"
NATIVE = "/opt/filters/libbedrock_openai_filter.so"
ARGS = argparse.Namespace(access_log_path=None)


def no_files(path):
    raise AssertionError(f"render() read {path}, but every input was given")


def hcm_of(cfg):
    return cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]


def callouts_hcm(cfg):
    """The http_connection_manager of the internal listener of the filter's own calls."""
    [listener] = [x for x in cfg["static_resources"]["listeners"] if x["name"] == "bedrock_callouts"]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def render(template=TEMPLATE, env=None, args=ARGS, read_file=no_files):
    said = []
    cfg = gateway.render(template, env or {}, args, wasm=WASM, native=NATIVE, read_file=read_file,
                         say=said.append)
    return cfg, said


def sha(key):
    return hashlib.sha256(key.encode()).hexdigest()


def derived_item_key(*keys):
    """The Responses item key the launcher derives from the project keys."""
    return sha("bedrock-openai-filter responses item key\n" + "\n".join(sorted(keys)))


def test_render_with_keys_and_endpoint():
    env = {"GATEWAY_PORT": "18080", "ADMIN_PORT": "18081", "PROJECT_API_KEYS": "alpha=sk-a, sk-b",
           "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:9099/"}
    args = argparse.Namespace(access_log_path="access.json")
    before = copy.deepcopy(TEMPLATE)
    cfg, said = render(env=env, args=args)

    assert TEMPLATE == before, "render() changed the template it was given"
    assert cfg["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 18081}
    listener = cfg["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"]["port_value"] == 18080
    hcm = hcm_of(cfg)
    names = [f["name"] for f in hcm["http_filters"]]
    # The dynamic forward proxy stays for bedrock-mantle's hosts (its own cluster and route).
    assert names == ["envoy.filters.http.wasm", "envoy.filters.http.dynamic_forward_proxy",
                     "envoy.filters.http.router"]
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    assert [r["route"]["cluster"] for r in routes] == ["bedrock_mantle", "bedrock"]
    assert routes[0]["match"]["headers"] == [{"name": ":authority", "string_match": {"suffix": ".api.aws"}}]
    assert [log["typed_config"]["path"] for log in hcm["access_log"]] == ["access.json"]
    plugin = hcm["http_filters"][0]["typed_config"]["config"]
    assert plugin["vm_config"]["code"]["local"]["filename"] == WASM
    assert "environment_variables" not in plugin["vm_config"]
    assert json.loads(plugin["configuration"]["value"]) == {
        "version": 1,
        "projects": [{"name": "alpha", "key_sha256": sha("sk-a")},
                     {"name": "project-2", "key_sha256": sha("sk-b")}],
        "upstream": {"endpoint": "http://127.0.0.1:9099"},
        "responses": {"item_key": derived_item_key("sk-a", "sk-b")},
    }
    (cluster,) = [c for c in cfg["static_resources"]["clusters"] if c["name"] == "bedrock"]
    assert cluster["type"] == "STATIC"
    assert cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"] == {
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 9099}}}
    (template_cluster,) = [c for c in TEMPLATE["static_resources"]["clusters"] if c["name"] == "bedrock"]
    assert cluster["per_connection_buffer_limit_bytes"] == template_cluster["per_connection_buffer_limit_bytes"]
    assert "transport_socket" not in cluster
    (mantle,) = [c for c in cfg["static_resources"]["clusters"] if c["name"] == "bedrock_mantle"]
    assert mantle["cluster_type"] == template_cluster["cluster_type"]
    # The filter's own calls (embeddings, bedrock-runtime only) reach the fixed endpoint: no dynamic
    # forward proxy there.
    assert [f["name"] for f in callouts_hcm(cfg)["http_filters"]] == ["envoy.filters.http.router"]
    assert said == ["project keys from PROJECT_API_KEYS: alpha, project-2",
                    "Responses item ids: checked with a key derived from the project keys "
                    "(RESPONSES_ITEM_KEY overrides)",
                    "upstream: http://127.0.0.1:9099 (AWS_ENDPOINT_URL_BEDROCK_RUNTIME)",
                    "bedrock-mantle: https://bedrock-mantle.<region>.api.aws (region from each request)"]
    text = yaml.safe_dump(cfg)
    assert "sk-a" not in text and "sk-b" not in text


def test_render_from_text_with_dev_keys_and_defaults():
    read = []

    def read_file(path):
        read.append(path)
        assert path == gateway.DEV_KEYS_FILE
        return "# comment\n\ndev=sk-dev-1\n"

    cfg, said = render(template=TEMPLATE_TEXT, read_file=read_file)
    assert read == [gateway.DEV_KEYS_FILE]
    assert cfg["admin"]["address"]["socket_address"]["port_value"] == 9901
    assert cfg["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] == 10000
    hcm = hcm_of(cfg)
    assert "envoy.filters.http.dynamic_forward_proxy" in [f["name"] for f in hcm["http_filters"]]
    assert [f["name"] for f in callouts_hcm(cfg)["http_filters"]] == [
        "envoy.filters.http.dynamic_forward_proxy", "envoy.filters.http.router"]
    plugin = hcm["http_filters"][0]["typed_config"]["config"]
    assert json.loads(plugin["configuration"]["value"]) == {
        "version": 1, "projects": [{"name": "dev", "key_sha256": sha("sk-dev-1")}],
        "responses": {"item_key": derived_item_key("sk-dev-1")}}
    (cluster,) = [c for c in cfg["static_resources"]["clusters"] if c["name"] == "bedrock"]
    assert cluster == [c for c in TEMPLATE["static_resources"]["clusters"] if c["name"] == "bedrock"][0]
    assert said[0] == "project keys from envoy/dev-project-keys.txt: dev"
    assert said[-1].startswith("upstream: https://bedrock-runtime.<region>.amazonaws.com")


def without_wasm_filter(cfg):
    hcm = hcm_of(cfg)
    hcm["http_filters"] = [f for f in hcm["http_filters"] if f["name"] != "envoy.filters.http.wasm"]


def hcm_renamed(cfg):
    network_filters = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"]
    network_filters[0]["name"] = "envoy.filters.network.tcp_proxy"


def without_listeners(cfg):
    del cfg["static_resources"]["listeners"]


def without_bedrock_cluster(cfg):
    cfg["static_resources"]["clusters"] = [c for c in cfg["static_resources"]["clusters"] if c["name"] != "bedrock"]


def without_plugin_configuration(cfg):
    del hcm_of(cfg)["http_filters"][0]["typed_config"]["config"]["configuration"]


@pytest.mark.parametrize("change, expected", [
    (without_wasm_filter, "expected the wasm filter (one entry named 'envoy.filters.http.wasm') in "
                          "envoy.filters.network.http_connection_manager.http_filters, found 0"),
    (hcm_renamed, "expected the http_connection_manager (one entry named "
                  "'envoy.filters.network.http_connection_manager') in "
                  "static_resources.listeners[0].filter_chains[0].filters, found 0"),
    (without_listeners, "expected the gateway listener at static_resources.listeners[0]"),
    (without_bedrock_cluster, "expected the upstream cluster (one entry named 'bedrock') in "
                              "static_resources.clusters, found 0"),
    (without_plugin_configuration, "expected the plugin configuration at "
                                   "envoy.filters.http.wasm.typed_config.config.configuration"),
], ids=["no-wasm-filter", "no-hcm", "no-listener", "no-bedrock-cluster", "no-plugin-configuration"])
def test_template_of_another_shape_is_a_launch_error(change, expected):
    template = copy.deepcopy(TEMPLATE)
    change(template)
    with pytest.raises(gateway.LaunchError) as err:
        gateway.render(template, {"PROJECT_API_KEYS": "sk-a"}, ARGS, wasm=WASM, read_file=no_files,
                       name="my-envoy.yaml")
    message = str(err.value)
    assert message.startswith("my-envoy.yaml: "), message
    assert expected in message
    assert message.endswith("the template has changed shape, so scripts/gateway.py must change with it")


def test_template_that_is_not_a_mapping():
    with pytest.raises(gateway.LaunchError, match=r"^envoy/envoy.yaml: expected an Envoy bootstrap config"):
        gateway.render("- just\n- a list\n", {}, ARGS, wasm=WASM, read_file=no_files)


def signer_files(policies):
    signer = os.path.join(ROOT, "envoy", "aws-request-signing.yaml")

    def read(path):
        if path == "policies.json":
            return json.dumps(policies)
        assert path == signer, path
        with open(signer, encoding="utf-8") as f:
            return f.read()
    return read


@pytest.mark.parametrize("credentials,provider", [
    ("", None),
    ("environment", {"custom_credential_provider_chain": True, "environment_credential_provider": {}}),
    ("file:/var/run/aws/credentials", {"custom_credential_provider_chain": True, "credentials_file_provider": {
        "credentials_data_source": {"filename": "/var/run/aws/credentials",
                                    "watched_directory": {"path": "/var/run/aws"}},
        "profile": "default"}}),
])
def test_a_project_signed_by_envoy_adds_the_signed_cluster_and_route(credentials, provider):
    env = {"PROJECT_API_KEYS": "alpha=sk-a,beta=sk-b", "PROJECT_POLICIES": "policies.json",
           "AWS_REGION": "eu-central-1", "ENVOY_SIGNER_CREDENTIALS": credentials}
    cfg, said = render(env=env, read_file=signer_files({"alpha": {"credentials": "envoy"}}))
    clusters = {c["name"]: c for c in cfg["static_resources"]["clusters"]}
    # One signed copy per signing name: bedrock (runtime) and bedrock-mantle.
    assert set(clusters) == {"bedrock_callouts", "bedrock", "bedrock_signed", "bedrock_mantle_signed"}
    mantle_options = clusters["bedrock_mantle_signed"]["typed_extension_protocol_options"][gateway.HTTP_OPTIONS]
    assert mantle_options["http_filters"][0]["typed_config"]["service_name"] == "bedrock-mantle"
    assert mantle_options["http_filters"][0]["typed_config"]["region"] == "eu-central-1"
    options = clusters["bedrock_signed"]["typed_extension_protocol_options"][gateway.HTTP_OPTIONS]
    signer, codec = options["http_filters"]
    assert codec["name"] == "envoy.filters.http.upstream_codec"
    assert signer["typed_config"]["region"] == "eu-central-1"
    assert signer["typed_config"].get("credential_provider") == provider
    assert "http_filters" not in clusters["bedrock"]["typed_extension_protocol_options"][gateway.HTTP_OPTIONS]
    # Same upstream otherwise (here the dynamic forward proxy to AWS).
    assert clusters["bedrock_signed"]["cluster_type"] == clusters["bedrock"]["cluster_type"]
    routes = hcm_of(cfg)["route_config"]["virtual_hosts"][0]["routes"]
    assert routes[0]["route"]["cluster"] == "bedrock_signed"
    assert routes[0]["match"]["headers"] == [{"name": "x-bedrock-openai-signer", "string_match": {"exact": "envoy"}}]
    assert routes[0]["request_headers_to_remove"] == ["x-bedrock-openai-signer"]
    assert routes[1]["route"]["cluster"] == "bedrock_mantle_signed"
    assert routes[1]["match"]["headers"] == [{"name": "x-bedrock-openai-signer",
                                              "string_match": {"exact": "envoy-mantle"}}]
    assert routes[2]["route"]["cluster"] == "bedrock"
    # The filter's own calls (embeddings) take the same marked routes.
    assert callouts_hcm(cfg)["route_config"]["virtual_hosts"][0]["routes"] == routes
    plugin = json.loads(hcm_of(cfg)["http_filters"][0]["typed_config"]["config"]["configuration"]["value"])
    assert plugin["envoy_signer"] == {"region": "eu-central-1"}
    assert any("Envoy signs" in s for s in said)


def test_without_such_a_project_nothing_of_the_signer_is_added():
    env = {"PROJECT_API_KEYS": "alpha=sk-a", "PROJECT_POLICIES": "policies.json", "AWS_REGION": "eu-central-1"}
    cfg, _ = render(env=env, read_file=signer_files({"alpha": {"credentials": "environment"}}))
    assert [c["name"] for c in cfg["static_resources"]["clusters"]] == ["bedrock_callouts", "bedrock"]
    assert "envoy_signer" not in hcm_of(cfg)["http_filters"][0]["typed_config"]["config"]["configuration"]["value"]


@pytest.mark.parametrize("env,why", [
    ({}, "ENVOY_SIGNER_REGION"),
    ({"AWS_REGION": "us-east-1", "ENVOY_SIGNER_CREDENTIALS": "vault"}, "ENVOY_SIGNER_CREDENTIALS"),
    ({"AWS_REGION": "us-east-1", "ENVOY_SIGNER_CREDENTIALS": "file:"}, "ENVOY_SIGNER_CREDENTIALS"),
])
def test_signer_settings_are_checked(env, why):
    env = {"PROJECT_API_KEYS": "alpha=sk-a", "PROJECT_POLICIES": "policies.json", **env}
    with pytest.raises(gateway.LaunchError, match=why):
        render(env=env, read_file=signer_files({"alpha": {"credentials": "envoy"}}))


def test_responses_item_key_from_the_environment_or_refused_when_short():
    env = {"PROJECT_API_KEYS": "alpha=sk-a", "RESPONSES_ITEM_KEY": "k" * 32}
    cfg, said = render(env=env)
    plugin = hcm_of(cfg)["http_filters"][0]["typed_config"]["config"]
    assert json.loads(plugin["configuration"]["value"])["responses"] == {"item_key": "k" * 32}
    assert not any("item ids" in line for line in said)
    with pytest.raises(gateway.LaunchError, match="RESPONSES_ITEM_KEY must be at least 32 characters"):
        render(env=dict(env, RESPONSES_ITEM_KEY="short"))
    derived = json.loads(hcm_of(render(env={"PROJECT_API_KEYS": "alpha=sk-a"})[0])["http_filters"][0]
                         ["typed_config"]["config"]["configuration"]["value"])["responses"]["item_key"]
    assert derived == derived_item_key("sk-a") and "sk-a" not in derived


# ---------------------------------------------------------------- GATEWAY_FILTER=native


def test_native_takes_the_wasm_filters_place_with_the_same_configuration():
    env = {"PROJECT_API_KEYS": "alpha=sk-a", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:9099"}
    wasm_cfg, wasm_said = render(env=env)
    cfg, said = render(env={**env, "GATEWAY_FILTER": "native"})
    hcm, wasm_hcm = hcm_of(cfg), hcm_of(wasm_cfg)
    # The dynamic forward proxy stays for bedrock-mantle's hosts, as in the wasm build.
    assert [f["name"] for f in hcm["http_filters"]] == ["envoy.filters.http.dynamic_modules",
                                                       "envoy.filters.http.dynamic_forward_proxy",
                                                       "envoy.filters.http.router"]
    native = hcm["http_filters"][0]["typed_config"]
    assert native["@type"] == "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter"
    assert native["dynamic_module_config"] == {"module": {"local": {"filename": NATIVE}}, "do_not_close": True}
    assert native["filter_name"] == "bedrock_openai"
    assert native["filter_config"] == wasm_hcm["http_filters"][0]["typed_config"]["config"]["configuration"]
    # The metrics read as the wasm build's in /stats/prometheus.
    assert cfg["layered_runtime"] == {"layers": [gateway.NATIVE_RUNTIME]}
    assert gateway.NATIVE_RUNTIME["static_layer"] == {
        "envoy.reloadable_features.dynamic_modules_strip_custom_stat_prefix": True}
    # Everything else is the wasm build's config.
    hcm["http_filters"][0] = wasm_hcm["http_filters"][0]
    del cfg["layered_runtime"]
    assert cfg == wasm_cfg
    assert said == wasm_said + [f"filter: the dynamic module {NATIVE} (GATEWAY_FILTER=native)"]


def test_native_reads_credentials_from_envoys_own_environment():
    env = {"PROJECT_API_KEYS": "alpha=sk-a", "PROJECT_POLICIES": "policies.json", "GATEWAY_FILTER": "native"}
    cfg, said = render(env=env, read_file=signer_files({"alpha": {"credentials": "environment"}}))
    native = hcm_of(cfg)["http_filters"][0]
    assert native["name"] == "envoy.filters.http.dynamic_modules"
    assert "vm_config" not in yaml.safe_dump(cfg)  # nothing to hand over: Envoy's environment is the module's
    assert "credentials for some projects come from this process's AWS_* environment" in said


def test_native_with_envoy_signing_keeps_the_signed_route():
    env = {"PROJECT_API_KEYS": "alpha=sk-a", "PROJECT_POLICIES": "policies.json", "AWS_REGION": "eu-central-1",
           "GATEWAY_FILTER": "native"}
    cfg, _ = render(env=env, read_file=signer_files({"alpha": {"credentials": "envoy"}}))
    hcm = hcm_of(cfg)
    assert hcm["route_config"]["virtual_hosts"][0]["routes"][0]["route"]["cluster"] == "bedrock_signed"
    plugin = json.loads(hcm["http_filters"][0]["typed_config"]["filter_config"]["value"])
    assert plugin["envoy_signer"] == {"region": "eu-central-1"}


@pytest.mark.parametrize("value", ["wasm", "", " "])
def test_gateway_filter_defaults_to_wasm(value):
    cfg, _ = render(env={"PROJECT_API_KEYS": "sk-a", "GATEWAY_FILTER": value})
    assert hcm_of(cfg)["http_filters"][0]["name"] == "envoy.filters.http.wasm"
    assert "layered_runtime" not in cfg


def test_an_unknown_gateway_filter_is_a_launch_error():
    with pytest.raises(gateway.LaunchError, match=r"GATEWAY_FILTER='so': expected `wasm` or `native`"):
        render(env={"PROJECT_API_KEYS": "sk-a", "GATEWAY_FILTER": "so"})
