"""Small helpers shared by the e2e tests: raw HTTP calls and assertions on what the stand-in saw."""

import json
import os
import subprocess

import requests

from e2e.keys import PERMANENT, PROJECT_KEY_ALPHA, TEMPORARY, aws_headers

SEED_MESSAGES = [
    {"role": "assistant", "content": "You are a helpful assistant"},
    {"role": "user", "content": "Hello!"},
]

ALL_MODELS = [
    "amazon.titan-text-express-v1",
    "anthropic.claude-3-sonnet-20240229-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "meta.llama3-8b-instruct-v1:0",
    "meta.llama3-70b-instruct-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "mistral.mixtral-8x7b-instruct-v0:1",
    "mistral.mistral-large-2402-v1:0",
]
NO_SYSTEM_MODELS = {
    "amazon.titan-text-express-v1",
    "mistral.mistral-7b-instruct-v0:2",
    "mistral.mixtral-8x7b-instruct-v0:1",
}
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"
MISTRAL_LARGE = "mistral.mistral-large-2402-v1:0"

# Every secret the tests send: none may ever reach the upstream, a log or an error body.
SECRETS = [
    PROJECT_KEY_ALPHA,
    PERMANENT["secret_access_key"],
    TEMPORARY["secret_access_key"],
    TEMPORARY["session_token"],
    "sk-openai-unused",
]


def default_headers(**overrides):
    """Headers of a valid call; `None` values remove a header."""
    h = {"Project-Api-Key": PROJECT_KEY_ALPHA, "Content-Type": "application/json", **aws_headers()}
    for k, v in overrides.items():
        k = k.replace("_", "-")
        for existing in [e for e in h if e.lower() == k.lower()]:
            del h[existing]
        if v is not None:
            h[k] = v
    return h


def post(gateway, body, headers=None, path="/v1/amazon-bedrock/chat/completions", method="POST", raw=None,
         timeout=30):
    """Raw call to the gateway; returns the requests.Response."""
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.request(method, gateway.url + path, data=data,
                            headers=headers if headers is not None else default_headers(), timeout=timeout)


def assert_openai_error(resp, status, param="<any>", kind=None, code=None):
    """`resp` is an OpenAI-shaped error with `status` (and `param`, `type`, `code` when given)."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    assert isinstance(err["message"], str) and err["message"], err
    if param != "<any>":
        assert err["param"] == param, err
    if kind is not None:
        assert err["type"] == kind, err
    if code is not None:
        assert err["code"] == code, err
    for s in SECRETS:
        assert s not in resp.text
    return err


def chat_body(model=LLAMA, messages=None, **fields):
    return {"model": model, "messages": messages or SEED_MESSAGES, **fields}


def last_converse(standin):
    """The JSON body of the one Converse call the stand-in answered 200."""
    reqs = standin.requests()
    assert len(reqs) == 1, reqs
    assert reqs[0]["status"] == 200, reqs[0]
    return reqs[0]


NODE_CHAT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node", "chat.mjs")


def node(gateway, request, headers=None):
    """Call the gateway with the official OpenAI npm SDK (tests/node/chat.mjs); its JSON lines, parsed."""
    arg = json.dumps({"baseURL": gateway.base_url, "request": request,
                      "headers": headers or {"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()}})
    done = subprocess.run(["node", NODE_CHAT, arg], capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


NODE_CLIENTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node", "clients.mjs")


def node_client(gateway, scenario, model, headers=None, **args):
    """Run one tests/node/clients.mjs scenario (Vercel AI SDK, LangChain.js); its one JSON line, parsed."""
    arg = json.dumps({"scenario": scenario, "baseURL": gateway.base_url, "model": model,
                      "headers": headers or {"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()}, **args})
    done = subprocess.run(["node", NODE_CLIENTS, arg], capture_output=True, text=True, timeout=60, check=True)
    [line] = done.stdout.splitlines()
    return json.loads(line)
