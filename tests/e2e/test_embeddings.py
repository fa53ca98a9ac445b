"""The embeddings endpoint end to end: real clients → Envoy + filter → the stand-in.

The stand-in answers InvokeModel for each family with Bedrock's bodies and headers,
checks SigV4 and each family's body rules as Bedrock does (tests/standin/embeddings.py)
and records every call, so the fan-out can be counted. Its vectors are deterministic
(standin.embeddings.vector): each test knows the float32 values Bedrock "answered" and
checks them against what the client decoded, through Python's struct as the reference
for little-endian float32.
"""

import base64
import hashlib
import json
import struct
import subprocess

import openai
import pytest
from langchain_openai import OpenAIEmbeddings

from e2e.helpers import assert_openai_error, default_headers, post
from e2e.keys import PROJECT_KEY_ALPHA, aws_headers
from standin.embeddings import tokens, vector

PATH = "/v1/amazon-bedrock/embeddings"
TITAN = "amazon.titan-embed-text-v2:0"
G1 = "amazon.titan-embed-text-v1"
COHERE = "cohere.embed-english-v3"
COHERE_V4 = "cohere.embed-v4:0"
NOVA = "amazon.nova-2-multimodal-embeddings-v1:0"
NODE_EMBEDDINGS = __file__.rsplit("/e2e/", 1)[0] + "/node/embeddings.mjs"


def node_embeddings(gateway, scenario, **args):
    arg = json.dumps({"scenario": scenario, "baseURL": gateway.base_url if gateway else None,
                      "headers": {"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()}, **args})
    done = subprocess.run(["node", NODE_EMBEDDINGS, arg], capture_output=True, text=True, timeout=60, check=True)
    [line] = done.stdout.splitlines()
    return json.loads(line)


def calls(standin, model=None):
    return [r for r in standin.requests() if r["operation"] == "InvokeModel"
            and (model is None or r["model_id"] == model)]


def f32_bytes(v):
    return struct.pack(f"<{len(v)}f", *v)


def f32(v):
    """`v` rounded to float32 values: a float answer prints each float32 in its shortest
    decimal form, which reads back as that float32 (not as its exact double)."""
    return list(struct.unpack(f"<{len(v)}f", f32_bytes(v)))


def texts(n, prefix="text"):
    return [f"{prefix} number {i}" for i in range(n)]


# ---------------------------------------------------------------- the official SDKs


def test_python_sdk_default_is_base64_of_little_endian_float32(client, standin):
    inputs = texts(3)
    raw = client.embeddings.with_raw_response.create(model=TITAN, input=inputs)
    wire = json.loads(raw.text)
    assert wire["object"] == "list" and wire["model"] == TITAN
    assert set(wire) == {"object", "data", "model", "usage"}
    for i, item in enumerate(wire["data"]):
        assert set(item) == {"object", "index", "embedding"} and item["object"] == "embedding"
        assert item["index"] == i
        assert item["embedding"] == base64.b64encode(f32_bytes(vector(TITAN, inputs[i], 1024))).decode()
    decoded = raw.parse()  # what the SDK hands the caller: floats again
    assert [d.embedding for d in decoded.data] == [vector(TITAN, t, 1024) for t in inputs]
    assert decoded.usage.prompt_tokens == decoded.usage.total_tokens == sum(tokens(t) for t in inputs)
    sent = [json.loads(c["body"]) for c in calls(standin)]
    assert sorted(s["inputText"] for s in sent) == inputs  # one call per input, nothing else in the body
    assert all(set(s) == {"inputText"} for s in sent)


def test_python_sdk_float(client, standin):
    r = client.embeddings.create(model=COHERE, input="one text", encoding_format="float")
    assert f32(r.data[0].embedding) == vector(COHERE, "one text", 1024)
    [call] = calls(standin)
    assert json.loads(call["body"]) == {"texts": ["one text"], "input_type": "search_document", "truncate": "NONE"}
    assert r.usage.prompt_tokens == tokens("one text")  # from x-amzn-bedrock-input-token-count


@pytest.mark.parametrize("scenario", ["openai", "openai-float"])
def test_npm_sdk(gateway, standin, scenario):
    inputs = texts(2, "npm")
    out = node_embeddings(gateway, scenario, model=COHERE_V4, input=inputs, dimensions=256)
    assert "result" in out, out
    r = out["result"]
    expected = [vector(COHERE_V4, t, 256) for t in inputs]
    if scenario == "openai":
        # The SDK asked for base64 and decoded it through a Float32Array: exactly the
        # float32 values (floats there would have decoded to garbage).
        assert r["vectors"] == expected
    else:
        assert [f32(v) for v in r["vectors"]] == expected
    assert r["indexes"] == [0, 1] and r["model"] == COHERE_V4
    [call] = calls(standin)
    assert json.loads(call["body"])["output_dimension"] == 256


def test_ai_sdk_embed_many(gateway, standin):
    inputs = texts(5, "vercel")
    out = node_embeddings(gateway, "ai-embed-many", model=NOVA, input=inputs)
    assert "result" in out, out
    assert [f32(v) for v in out["result"]["vectors"]] == [vector(NOVA, t, 3072) for t in inputs]
    assert len(calls(standin)) == 5


# ---------------------------------------------------------------- LangChain


def langchain(gateway, **kwargs):
    return OpenAIEmbeddings(model=TITAN, base_url=gateway.base_url, api_key="sk-openai-unused", max_retries=0,
                            default_headers={"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()}, **kwargs)


def test_langchain_with_check_embedding_ctx_length_false(gateway, standin):
    docs = texts(4, "langchain")
    emb = langchain(gateway, check_embedding_ctx_length=False)
    assert [f32(v) for v in emb.embed_documents(docs)] == [vector(TITAN, t, 1024) for t in docs]
    assert f32(emb.embed_query("a query")) == vector(TITAN, "a query", 1024)


def test_langchain_default_gets_a_400_that_says_what_to_set(gateway, standin, tmp_path, monkeypatch):
    # LangChain tokenizes with tiktoken's cl100k_base first; offline, tiktoken reads its
    # cache, filled here from js-tiktoken's copy of the same ranks (sha256 checked by tiktoken).
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    out = node_embeddings(None, "tiktoken-file", path=str(tmp_path / hashlib.sha1(url.encode()).hexdigest()))
    assert out["result"]["tokens"] == 100256, out
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    with pytest.raises(openai.BadRequestError) as e:
        langchain(gateway).embed_documents(["hello world"])
    err = e.value.body
    assert e.value.status_code == 400 and err["param"] == "input"
    assert "check_embedding_ctx_length=False" in err["message"]
    assert calls(standin) == []


# ---------------------------------------------------------------- batches


def test_200_inputs_to_titan_are_200_calls_in_order(client, standin):
    inputs = texts(200, "titan")
    r = client.embeddings.create(model=TITAN, input=inputs, dimensions=256)
    assert [d.index for d in r.data] == list(range(200))
    assert [d.embedding for d in r.data] == [vector(TITAN, t, 256) for t in inputs]
    made = calls(standin, TITAN)
    assert len(made) == 200 and all(c["status"] == 200 for c in made)
    assert sorted(json.loads(c["body"])["inputText"] for c in made) == sorted(inputs)
    assert r.usage.prompt_tokens == sum(tokens(t) for t in inputs)


def test_200_inputs_to_cohere_are_3_calls(client, standin):
    inputs = texts(200, "cohere")
    r = client.embeddings.create(model=COHERE, input=inputs, extra_body={"input_type": "search_query"})
    assert [d.embedding for d in r.data] == [vector(COHERE, t, 1024) for t in inputs]
    made = calls(standin, COHERE)
    assert sorted(len(json.loads(c["body"])["texts"]) for c in made) == [8, 96, 96]
    assert all(json.loads(c["body"])["input_type"] == "search_query" for c in made)


@pytest.mark.parametrize("model,dims,field", [
    (TITAN, 256, "dimensions"), (TITAN, 512, "dimensions"), (TITAN, 1024, "dimensions"),
    (G1, 1536, None), (COHERE, 1024, None),
    (COHERE_V4, 256, "output_dimension"), (COHERE_V4, 512, "output_dimension"),
    (COHERE_V4, 1024, "output_dimension"), (COHERE_V4, 1536, "output_dimension"),
    (NOVA, 256, "embeddingDimension"), (NOVA, 384, "embeddingDimension"),
    (NOVA, 1024, "embeddingDimension"), (NOVA, 3072, "embeddingDimension"),
])
def test_each_dimensions_mapping(client, standin, model, dims, field):
    r = client.embeddings.create(model=model, input="size me", dimensions=dims, encoding_format="float")
    assert f32(r.data[0].embedding) == vector(model, "size me", dims)
    [call] = calls(standin)
    sent = json.loads(call["body"])
    params = sent.get("singleEmbeddingParams", sent)
    if field is None:
        assert "dimensions" not in sent and "output_dimension" not in sent
    else:
        assert params[field] == dims


def test_a_profile_id_and_a_nova_purpose(client, standin):
    r = client.embeddings.create(model="us." + COHERE_V4, input="q", encoding_format="float")
    assert f32(r.data[0].embedding) == vector(COHERE_V4, "q", 1536) and r.model == "us." + COHERE_V4
    client.embeddings.create(model=NOVA, input="q", extra_body={"input_type": "search_query"})
    nova = json.loads(calls(standin, NOVA)[0]["body"])["singleEmbeddingParams"]
    assert nova["embeddingPurpose"] == "TEXT_RETRIEVAL" and nova["text"]["truncationMode"] == "NONE"


def test_a_failure_in_one_call_fails_the_batch_with_that_error(client, standin):
    standin.script({"error": "ThrottlingException", "message": "Too many requests, slow down."})
    with pytest.raises(openai.RateLimitError) as e:
        client.embeddings.create(model=TITAN, input=texts(12, "fail"))
    assert "ThrottlingException" in e.value.body["message"]
    assert e.value.body["code"] == "rate_limit_exceeded"
    assert any(c["status"] == 429 for c in calls(standin))


def test_a_slow_call_times_the_batch_out(gateway, standin):
    standin.script({"delay_ms": 2500})
    r = post(gateway, {"model": TITAN, "input": texts(3, "slow"), "timeout": 1}, path=PATH)
    assert_openai_error(r, 504, param=None, kind="timeout_error", code="upstream_timeout")
    assert r.elapsed.total_seconds() < 2.4


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("body,status,param", [
    ({"model": TITAN}, 400, "input"),
    ({"model": TITAN, "input": ""}, 400, "input"),
    ({"model": TITAN, "input": ["a", ""]}, 400, "input"),
    ({"model": TITAN, "input": []}, 400, "input"),
    ({"model": TITAN, "input": ["a"] * 2049}, 400, "input"),
    ({"model": TITAN, "input": [[464, 3290]]}, 400, "input"),
    ({"model": TITAN, "input": [464, 3290]}, 400, "input"),
    ({"model": TITAN, "input": "x" * 50001}, 400, "input"),
    ({"model": COHERE, "input": "x" * 2049}, 400, "input"),
    ({"model": NOVA, "input": "x" * 8193}, 400, "input"),
    ({"model": TITAN, "input": "a", "dimensions": 768}, 400, "dimensions"),
    ({"model": NOVA, "input": "a", "dimensions": 512}, 400, "dimensions"),
    ({"model": TITAN, "input": "a", "encoding_format": "binary"}, 400, "encoding_format"),
    ({"model": COHERE, "input": "a", "input_type": "image"}, 400, "input_type"),
    ({"model": TITAN, "input": "a", "normalize": False}, 400, "normalize"),
    ({"model": "meta.llama3-8b-instruct-v1:0", "input": "a"}, 400, "model"),
    ({"model": "text-embedding-3-small", "input": "a"}, 404, "model"),
], ids=lambda v: str(v)[:40] if not isinstance(v, dict) else None)
def test_refusals_never_reach_bedrock(gateway, standin, body, status, param):
    assert_openai_error(post(gateway, body, path=PATH), status, param=param)
    assert calls(standin) == []


def test_chat_refuses_an_embedding_model(gateway, standin):
    r = post(gateway, {"model": TITAN, "messages": [{"role": "user", "content": "hi"}]})
    err = assert_openai_error(r, 400, param="model")
    assert "/v1/amazon-bedrock/embeddings" in err["message"]


def test_the_models_list_has_embedding_models(client):
    ids = {m.id: m.owned_by for m in client.models.list()}
    assert ids[TITAN] == "amazon" and ids[COHERE_V4] == "cohere" and ids["global." + COHERE_V4] == "cohere"


def test_secrets_stay_out_of_the_calls_and_errors(gateway, standin):
    standin.script({"error": "AccessDeniedException", "message": "no"})
    r = post(gateway, {"model": TITAN, "input": "a"}, path=PATH, headers=default_headers())
    assert r.status_code == 403
    seen = json.dumps(standin.requests())
    for secret in [PROJECT_KEY_ALPHA, aws_headers()["aws-secret-access-key"]]:
        assert secret not in seen and secret not in r.text
