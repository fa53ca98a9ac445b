"""The peers of the load part, each behind the same fast upstream: LiteLLM's proxy and
bedrock-access-gateway (from BAG_DIR), in their own venvs under bench/.venvs (bench/tools.py).
"""

import hashlib
import os
import shutil
import subprocess

import yaml

import tools
from config import LITELLM_KEY, MODEL, write
from harness import OUT, PERMANENT, REGION, free_port, spawn, wait_ready


def start_litellm(upstream_port):
    """LiteLLM's proxy, one worker; returns (process, port, version)."""
    venv = tools.venv("litellm")
    version = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                              "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    port = free_port()
    cfg = {
        "model_list": [{"model_name": MODEL, "litellm_params": {
            "model": f"bedrock/converse/{MODEL}",
            "aws_access_key_id": PERMANENT["access_key_id"],
            "aws_secret_access_key": PERMANENT["secret_access_key"],
            "aws_region_name": REGION,
            "aws_bedrock_runtime_endpoint": f"http://127.0.0.1:{upstream_port}"}}],
        "router_settings": {"num_retries": 0},
        "litellm_settings": {"num_retries": 0, "request_timeout": 30},
        # It refuses to start without one; callers authenticate as with our project keys.
        "general_settings": {"master_key": LITELLM_KEY},
    }
    path = write("litellm.yaml", yaml.safe_dump(cfg, sort_keys=False))
    proc = spawn("litellm", [os.path.join(venv, "bin", "litellm"), "--config", path,
                             "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1",
                             "--telemetry", "False"],
                 env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
                      "NO_PROXY": "*", "no_proxy": "*"})
    wait_ready(proc, port, "/health/liveliness", "LiteLLM", timeout=180)
    return proc, port, version


def start_bag(upstream_port):
    """bedrock-access-gateway (uvicorn from its src/, as its README runs it); returns (process, port, commit)."""
    src, commit = tools.bag_source()
    venv = tools.venv("bag", tools.bag_requirements(src))
    # tiktoken's cl100k_base, offline: LiteLLM ships the file under the same cache key.
    tok = os.path.join(OUT, "tiktoken")
    os.makedirs(tok, exist_ok=True)
    key = hashlib.sha1(b"https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken").hexdigest()
    if not os.path.exists(os.path.join(tok, key)):
        lvenv = tools.venv("litellm")
        found = subprocess.run(["find", "-H", lvenv, "-name", key, "-path", "*tokenizers*"],
                               capture_output=True, text=True).stdout.split()
        if not found:
            raise RuntimeError("tiktoken cl100k_base file not found in the LiteLLM venv")
        shutil.copy(found[0], os.path.join(tok, key))
    port = free_port()
    up = f"http://127.0.0.1:{upstream_port}"
    proc = spawn("bag", [os.path.join(venv, "bin", "uvicorn"), "api.app:app",
                         "--host", "127.0.0.1", "--port", str(port)], cwd=src, env={
        "API_KEY": "bench-bag-key", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": PERMANENT["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": PERMANENT["secret_access_key"],
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": up, "AWS_ENDPOINT_URL_BEDROCK": up,
        "ENABLE_CROSS_REGION_INFERENCE": "false", "ENABLE_APPLICATION_INFERENCE_PROFILES": "false",
        "DEFAULT_MODEL": MODEL, "TIKTOKEN_CACHE_DIR": tok, "NO_PROXY": "*", "no_proxy": "*",
        "AWS_EC2_METADATA_DISABLED": "true"})
    wait_ready(proc, port, "/health", "bedrock-access-gateway", timeout=180)
    return proc, port, commit
