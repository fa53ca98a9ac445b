"""InvokeModel for the embedding models, through botocore's own client (its SigV4 and
its path encoding): each family's body rules as AWS's pages state them, the answers'
shapes and token-count headers, the Regions and profiles, and the record of every call
(what the e2e tests count the fan-out with)."""

import json

import pytest
from botocore.exceptions import ClientError

from standin import embeddings, testing

TITAN = "amazon.titan-embed-text-v2:0"
G1 = "amazon.titan-embed-text-v1"
COHERE = "cohere.embed-english-v3"
COHERE_V4 = "cohere.embed-v4:0"
NOVA = "amazon.nova-2-multimodal-embeddings-v1:0"


def invoke(url, model, body, region=testing.REGION):
    r = testing.client(url, region=region).invoke_model(modelId=model, body=json.dumps(body),
                                                         contentType="application/json", accept="application/json")
    return json.loads(r["body"].read()), r["ResponseMetadata"]["HTTPHeaders"]


def refused(url, model, body, region=testing.REGION):
    try:
        invoke(url, model, body, region)
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ValidationException", e.response["Error"]
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return e.response["Error"]["Message"]
    raise AssertionError(f"{model}: {body} was not refused")


def nova(text="hi", **params):
    return {"taskType": "SINGLE_EMBEDDING", "singleEmbeddingParams": {
        "embeddingPurpose": "GENERIC_INDEX", "text": {"truncationMode": "END", "value": text}, **params}}


def test_titan_v2_answer_and_its_token_count(url, recorded):
    body, headers = invoke(url, TITAN, {"inputText": "hello world", "dimensions": 256})
    assert set(body) == {"embedding", "embeddingsByType", "inputTextTokenCount"}
    assert body["embedding"] == body["embeddingsByType"]["float"] == embeddings.vector(TITAN, "hello world", 256)
    assert body["inputTextTokenCount"] == embeddings.tokens("hello world")
    assert headers["x-amzn-bedrock-input-token-count"] == str(body["inputTextTokenCount"])
    [seen] = recorded()
    assert seen["operation"] == "InvokeModel" and seen["status"] == 200
    assert seen["embedding"] == {"base": TITAN, "family": "titan-v2", "texts": 1, "dimensions": 256}


def test_cohere_v3_list_and_v4_by_type_with_the_count_in_a_header(url):
    body, headers = invoke(url, COHERE, {"texts": ["a", "b"], "input_type": "search_query"})
    assert body["response_type"] == "embeddings_floats" and body["texts"] == ["a", "b"]
    assert body["embeddings"] == [embeddings.vector(COHERE, t, 1024) for t in "ab"]
    assert "inputTextTokenCount" not in body and headers["x-amzn-bedrock-input-token-count"] == "2"
    body, _ = invoke(url, COHERE_V4, {"texts": ["a"], "input_type": "clustering", "output_dimension": 512})
    assert body["response_type"] == "embeddings_by_type"
    assert body["embeddings"] == {"float": [embeddings.vector(COHERE_V4, "a", 512)]}


def test_nova_answer(url):
    body, headers = invoke(url, NOVA, nova("hi", embeddingDimension=384))
    assert body == {"embeddings": [{"embeddingType": "TEXT", "embedding": embeddings.vector(NOVA, "hi", 384)}]}
    assert headers["x-amzn-bedrock-input-token-count"] == "1"


@pytest.mark.parametrize("model,body,fragment", [
    (TITAN, {"texts": ["a"], "input_type": "search_document"}, "required key [inputText] not found"),
    (TITAN, {"inputText": ""}, "expected minLength: 1, actual: 0"),
    (TITAN, {"inputText": "x" * 50001}, "expected maxLength: 50000, actual: 50001"),
    (TITAN, {"inputText": "a", "dimensions": 300}, "#/dimensions: 300 is not a valid enum value"),
    (G1, {"inputText": "a", "dimensions": 1536}, "extraneous key [dimensions] is not permitted"),
    (COHERE, {"texts": ["a"]}, "required key [input_type] not found"),
    (COHERE, {"inputText": "a", "input_type": "search_document"}, "extraneous key [inputText]"),
    (COHERE, {"texts": ["a"] * 97, "input_type": "search_document"}, "expected maximum item count: 96"),
    (COHERE, {"texts": ["x" * 2049], "input_type": "search_document"}, "#/texts/0: expected maxLength: 2048"),
    (COHERE, {"texts": ["a"], "input_type": "search_document", "output_dimension": 256}, "extraneous key"),
    (COHERE, {"texts": ["a"], "input_type": "search_document", "truncate": "LEFT"}, "#/truncate"),
    (COHERE, {"texts": [], "input_type": "search_document"}, "Invalid parameter combination"),
    (COHERE_V4, {"texts": ["a"], "input_type": "image"}, "#/input_type"),
    (COHERE_V4, {"texts": ["a"], "input_type": "search_query", "output_dimension": 3072}, "#/output_dimension"),
    (COHERE_V4, {"texts": ["a"], "input_type": "search_query", "truncate": "END"}, "#/truncate"),
    (NOVA, nova(embeddingDimension=512), "embeddingDimension: 512 is not a valid enum value"),
    (NOVA, nova("x" * 8193), "expected maxLength: 8192"),
    (NOVA, {"singleEmbeddingParams": nova()["singleEmbeddingParams"]}, "required key [taskType]"),
    (NOVA, {"taskType": "SEGMENTED_EMBEDDING", "singleEmbeddingParams": {}}, "#/taskType"),
    (NOVA, nova(embeddingPurpose="SEARCH"), "embeddingPurpose"),
])
def test_each_family_s_body_rules(url, recorded, model, body, fragment):
    message = refused(url, model, body)
    assert fragment in message, message
    [seen] = recorded()
    assert seen["status"] == 400 and seen["error_type"] == "ValidationException"


def test_regions_and_profiles(url):
    assert refused(url, NOVA, nova(), region="us-west-2") == "The provided model identifier is invalid."
    assert "on-demand throughput isn't supported" in refused(
        url, COHERE_V4, {"texts": ["a"], "input_type": "search_query"}, region="us-west-2")
    body, _ = invoke(url, "us." + COHERE_V4, {"texts": ["a"], "input_type": "search_query"}, region="us-west-2")
    assert len(body["embeddings"]["float"][0]) == 1536
    assert refused(url, "eu." + COHERE_V4, {"texts": ["a"], "input_type": "search_query"},
                   region="us-west-2") == "The provided model identifier is invalid."
    assert refused(url, "apac." + COHERE_V4, {"texts": ["a"], "input_type": "search_query"},
                   region="ap-northeast-1") == "The provided model identifier is invalid."


def test_a_chat_model_is_not_invoked_here(url):
    assert refused(url, "meta.llama3-8b-instruct-v1:0", {"prompt": "hi"}) == "The provided model identifier is invalid."


def test_a_bad_signature_is_refused_before_the_body(url, recorded):
    bad = dict(testing.credentials.PERMANENT, secret_access_key="wrong" * 8)
    c = testing.client(url, cred=bad)
    with pytest.raises(ClientError) as e:
        c.invoke_model(modelId=TITAN, body=json.dumps({"inputText": "a"}))
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_vectors_are_unit_float32():
    v = embeddings.vector(TITAN, "x", 1024)
    assert abs(sum(x * x for x in v) - 1.0) < 1e-5
    assert v == embeddings.vector(TITAN, "x", 1024) != embeddings.vector(TITAN, "y", 1024)
