"""Non-streamed chat completions end to end: OpenAI SDK → Envoy + filter → strict stand-in."""

import time

import openai
import pytest

from e2e.helpers import ALL_MODELS, LLAMA, NO_SYSTEM_MODELS, SECRETS, SEED_MESSAGES, chat_body, last_converse, post
from e2e.keys import PERMANENT, PROJECT_KEY_ALPHA, TEMPORARY, aws_headers


def test_seed_example_returns_every_contract_field(gateway, standin, client):
    raw = client.chat.completions.with_raw_response.create(
        model=LLAMA, messages=SEED_MESSAGES, stream=False)
    assert raw.http_response.status_code == 200
    assert int(raw.headers["content-length"]) == len(raw.http_response.content)
    body = raw.http_response.json()
    assert set(body) == {"id", "object", "created", "model", "choices", "system_fingerprint", "usage"}
    assert body["id"].startswith("chatcmpl-") and len(body["id"]) > len("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert abs(body["created"] - time.time()) < 60
    assert body["model"] == LLAMA
    assert body["system_fingerprint"] is None
    [choice] = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == f"Hello from the Bedrock stand-in ({LLAMA})."
    # usage is what Bedrock reported
    sent = last_converse(standin)
    assert sent["path"] == "/model/meta.llama3-8b-instruct-v1%3A0/converse"
    assert body["usage"]["prompt_tokens"] > 0
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    # the leading assistant turn became the system prompt; the conversation starts with the user
    assert sent["json"]["system"] == [{"text": "You are a helpful assistant"}]
    assert sent["json"]["messages"] == [{"role": "user", "content": [{"text": "Hello!"}]}]
    # and the SDK parses it
    parsed = raw.parse()
    assert parsed.choices[0].message.content.startswith("Hello from the Bedrock stand-in")


def test_ids_are_unique_per_response(client):
    ids = {client.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES).id for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("model", ALL_MODELS)
def test_every_model_answers_with_a_system_prompt(client, standin, model):
    resp = client.chat.completions.create(model=model, messages=[
        {"role": "system", "content": "Answer briefly."},
        {"role": "developer", "content": "Be kind."},
        {"role": "user", "content": "Hi there"},
    ])
    assert resp.model == model
    assert resp.choices[0].message.content == f"Hello from the Bedrock stand-in ({model})."
    sent = last_converse(standin)["json"]
    if model in NO_SYSTEM_MODELS:
        assert "system" not in sent
        assert sent["messages"] == [{"role": "user", "content": [
            {"text": "Answer briefly."}, {"text": "Be kind."}, {"text": "Hi there"}]}]
    else:
        assert sent["system"] == [{"text": "Answer briefly."}, {"text": "Be kind."}]
        assert sent["messages"] == [{"role": "user", "content": [{"text": "Hi there"}]}]


def test_sampling_fields_arrive_unchanged(client, standin):
    client.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES, temperature=0, top_p=0.25,
                                   max_tokens=77, stop=["END", "STOP"])
    cfg = last_converse(standin)["json"]["inferenceConfig"]
    assert cfg == {"temperature": 0, "topP": 0.25, "maxTokens": 77, "stopSequences": ["END", "STOP"]}


def test_consecutive_roles_merge_and_blank_text_is_dropped(client, standin):
    client.chat.completions.create(model=LLAMA, messages=[
        {"role": "user", "content": "one"},
        {"role": "user", "content": "   "},
        {"role": "user", "content": [{"type": "text", "text": "two"}, {"type": "text", "text": ""}]},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "three"},
        {"role": "assistant", "content": "four"},
        {"role": "assistant", "content": "five"},
        {"role": "user", "content": "six"},
    ])
    assert last_converse(standin)["json"]["messages"] == [
        {"role": "user", "content": [{"text": "one"}, {"text": "two"}, {"text": "three"}]},
        {"role": "assistant", "content": [{"text": "four"}, {"text": "five"}]},
        {"role": "user", "content": [{"text": "six"}]},
    ]


def test_nothing_secret_reaches_the_upstream(client, standin):
    client.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES,
                                   extra_headers={"x-amz-target": "evil", "X-Amz-Security-Token": "forged"})
    sent = last_converse(standin)
    names = [k.lower() for k, _ in sent["headers"]]
    for forbidden in ("project-api-key", "aws-access-key-id", "aws-secret-access-key", "aws-region-name",
                      "aws-session-token", "x-amz-target", "x-amz-security-token", "accept-encoding"):
        assert forbidden not in names, sent["headers"]
    text = repr(sent["headers"]) + sent["body"]
    for s in SECRETS + ["forged", "evil"]:
        assert s not in text
    auth = dict((k.lower(), v) for k, v in sent["headers"])["authorization"]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={PERMANENT['access_key_id']}/")
    assert "/us-east-1/bedrock/aws4_request" in auth


def test_session_token_is_sent_as_security_token(gateway, standin):
    c = openai.OpenAI(base_url=gateway.base_url, api_key="sk-openai-unused", max_retries=0,
                      default_headers={"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers(TEMPORARY)})
    c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES)
    headers = dict((k.lower(), v) for k, v in last_converse(standin)["headers"])
    assert headers["x-amz-security-token"] == TEMPORARY["session_token"]
    assert "x-amz-security-token" in headers["authorization"]


def test_region_picks_the_signature_scope(gateway, standin):
    c = openai.OpenAI(base_url=gateway.base_url, api_key="x", max_retries=0,
                      default_headers={"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers(region="eu-west-3")})
    c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES)
    auth = dict((k.lower(), v) for k, v in last_converse(standin)["headers"])["authorization"]
    assert "/eu-west-3/bedrock/aws4_request" in auth


def test_wrong_secret_key_is_403_in_openai_shape(gateway, standin):
    wrong = dict(PERMANENT, secret_access_key="not-the-right-secret-key-000000000000000")
    c = openai.OpenAI(base_url=gateway.base_url, api_key="x", max_retries=0,
                      default_headers={"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers(wrong)})
    with pytest.raises(openai.PermissionDeniedError) as exc:
        c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES)
    err = exc.value.body
    assert exc.value.status_code == 403
    assert err["type"] == "authentication_error" and err["code"] == "invalid_aws_credentials"
    assert "InvalidSignatureException" in err["message"]
    assert "not-the-right-secret-key" not in exc.value.response.text
    [seen] = standin.requests()
    assert seen["status"] == 403 and seen["error_type"] == "InvalidSignatureException"


def test_unknown_access_key_is_403(gateway, standin):
    unknown = dict(PERMANENT, access_key_id="AKIAUNKNOWN000000000")
    c = openai.OpenAI(base_url=gateway.base_url, api_key="x", max_retries=0,
                      default_headers={"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers(unknown)})
    with pytest.raises(openai.PermissionDeniedError) as exc:
        c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES)
    assert "UnrecognizedClientException" in exc.value.body["message"]
    assert "AKIAUNKNOWN000000000" not in exc.value.response.text


@pytest.mark.parametrize("key", [None, "sk-wrong-key", "", PROJECT_KEY_ALPHA[:-1]])
def test_missing_or_wrong_project_key_is_401_and_never_reaches_aws(gateway, standin, key):
    headers = {} if key is None else {"Project-Api-Key": key}
    c = openai.OpenAI(base_url=gateway.base_url, api_key="x", max_retries=0,
                      default_headers={**headers, **aws_headers()})
    with pytest.raises(openai.AuthenticationError) as exc:
        c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES)
    assert exc.value.status_code == 401
    assert exc.value.body["code"] == "invalid_api_key"
    assert exc.value.body["param"] == "Project-Api-Key"
    assert standin.requests() == []


def test_second_project_key_works_too(gateway, standin):
    from e2e.keys import PROJECT_KEY_BETA
    r = post(gateway, chat_body(), headers={"Project-Api-Key": PROJECT_KEY_BETA,
                                            "Content-Type": "application/json", **aws_headers()})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("sent,received", [(0.7, 0.7), (1, 1), (1.5, 1), (2, 1)])
def test_temperature_above_converse_maximum_is_capped(client, standin, sent, received):
    client.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES, temperature=sent)
    assert last_converse(standin)["json"]["inferenceConfig"]["temperature"] == received
