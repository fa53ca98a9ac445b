"""InvokeModel for Bedrock's embedding models, as Bedrock answers it.

Every rule here comes from AWS's model parameter pages (never from the filter):
- Titan Text Embeddings V2 (model-parameters-titan-embed-text, titan-embedding-models):
  {inputText (1-50,000 characters), dimensions 1024|512|256, normalize, embeddingTypes};
  one text per call; answer {embedding, embeddingsByType: {float}, inputTextTokenCount}.
- Titan Embeddings G1 - Text: {inputText} only; answer {embedding (1,536), inputTextTokenCount}.
- Cohere Embed v3 (model-parameters-embed-v3): {texts (0-96, each at most 2,048
  characters), input_type (required: search_document|search_query|classification|
  clustering|image), truncate NONE|START|END, embedding_types, images}; answer
  {embeddings: [[...]], id, response_type: embeddings_floats, texts}; 1,024 values.
- Cohere Embed v4 (model-parameters-embed-v4): v3's fields with input_type
  search_document|search_query|classification|clustering, truncate NONE|LEFT|RIGHT,
  output_dimension 256|512|1024|1536 (default), max_tokens, inputs; answered by type
  ({"embeddings": {"float": [[...]]}}), as live v4 answers are reported to be.
- Nova Multimodal Embeddings (nova/latest/userguide/embeddings-schema): {schemaVersion?,
  taskType: SINGLE_EMBEDDING, singleEmbeddingParams: {embeddingPurpose, embeddingDimension
  256|384|1024|3072 (default), exactly one of text|image|audio|video; text: {truncationMode
  START|END|NONE, value (at most 8,192 characters)}}}; answer {embeddings: [{embeddingType,
  embedding}]}.
- Cohere and Nova report the input tokens in the x-amzn-bedrock-input-token-count header
  (vercel/ai PR #15973, laravel/ai PR #914, agentgateway PR #2934); Titan in its body
  (and the header too).
Schema refusals use Bedrock's validator wording ("Malformed input request: #/<path>: ...").
Regions: from the bedrock-models snapshot (ListFoundationModels per Region).

Vectors are deterministic (a hash of the model, the text and the size), unit length,
float32 values: tests compute the same with :func:`vector`.
"""

import hashlib
import json
import math
import re
import struct
import uuid

from .errors import validation
from .models import INVALID_ID

_V2_REGIONS = {"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-2",
               "ca-central-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
               "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-2"}
_COHERE_V3_REGIONS = {"ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
                      "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-west-2"}
# family, Regions invoked on demand, geo profiles
MODELS = {
    "amazon.titan-embed-text-v2:0": ("titan-v2", _V2_REGIONS, ()),
    "amazon.titan-embed-text-v1": ("titan-g1", {"ap-northeast-1", "eu-central-1", "us-east-1", "us-west-2"}, ()),
    "amazon.titan-embed-g1-text-02": ("titan-g1", {"us-east-1", "us-west-2"}, ()),
    "cohere.embed-english-v3": ("cohere-v3", _COHERE_V3_REGIONS, ()),
    "cohere.embed-multilingual-v3": ("cohere-v3", _COHERE_V3_REGIONS, ()),
    "cohere.embed-v4:0": ("cohere-v4", {"ap-northeast-1", "eu-west-1", "us-east-1"}, ("us", "eu", "global")),
    "amazon.nova-2-multimodal-embeddings-v1:0": ("nova", {"us-east-1"}, ()),
}
_GEO = {"us": re.compile(r"^us-(east|west)-\d+$"), "eu": re.compile(r"^eu-[a-z]+-\d+$"),
        "global": re.compile(r"^[a-z]{2}-[a-z]+-\d+$")}
NOVA_PURPOSES = ["GENERIC_INDEX", "GENERIC_RETRIEVAL", "TEXT_RETRIEVAL", "IMAGE_RETRIEVAL", "VIDEO_RETRIEVAL",
                 "DOCUMENT_RETRIEVAL", "AUDIO_RETRIEVAL", "CLASSIFICATION", "CLUSTERING"]
DEFAULT_DIMENSIONS = {"titan-v2": 1024, "titan-g1": 1536, "cohere-v3": 1024, "cohere-v4": 1536, "nova": 3072}


def is_embedding(model_id):
    """Whether `model_id` (a base or profile id) names an embedding model."""
    return model_id in MODELS or model_id.partition(".")[2] in MODELS


def resolve(model_id, region):
    """(base id, family) of the model `model_id` names when called in `region`; Bedrock's 400 otherwise."""
    if model_id in MODELS:
        family, regions, _ = MODELS[model_id]
        if region in regions:
            return model_id, family
        if MODELS[model_id][2]:
            raise validation(f"Invocation of model ID {model_id} with on-demand throughput isn't supported. "
                             "Retry your request with the ID or ARN of an inference profile that contains "
                             "this model.")
        raise validation(INVALID_ID)
    geo, _, base = model_id.partition(".")
    if base in MODELS and geo in MODELS[base][2] and _GEO[geo].match(region or ""):
        return base, MODELS[base][0]
    raise validation(INVALID_ID)


def _malformed(*problems):
    return validation("Malformed input request: " + "".join(problems) + ", please reformat your input and try again.")


def _keys(body, allowed, required, where="#"):
    if not isinstance(body, dict):
        raise _malformed(f"{where}: expected type: JSONObject, found: {type(body).__name__}")
    problems = [f"{where}: required key [{k}] not found" for k in required if k not in body]
    problems += [f"{where}: extraneous key [{k}] is not permitted" for k in body if k not in allowed]
    if problems:
        raise _malformed(*problems)


def _enum(value, allowed, where):
    if value not in allowed:
        raise _malformed(f"{where}: {json.dumps(value)} is not a valid enum value")


def _string(value, where, min_len=0, max_len=None):
    if not isinstance(value, str):
        raise _malformed(f"{where}: expected type: String, found: {type(value).__name__}")
    if len(value) < min_len:
        raise _malformed(f"{where}: expected minLength: {min_len}, actual: {len(value)}")
    if max_len is not None and len(value) > max_len:
        raise _malformed(f"{where}: expected maxLength: {max_len}, actual: {len(value)}")


def check(body, family):
    """Bedrock's body rules for `family`: the texts to embed and the vector size, or a 400."""
    if family == "titan-v2":
        _keys(body, {"inputText", "dimensions", "normalize", "embeddingTypes"}, ["inputText"])
        _string(body["inputText"], "#/inputText", 1, 50000)
        if "dimensions" in body:
            _enum(body["dimensions"], [1024, 512, 256], "#/dimensions")
        return [body["inputText"]], body.get("dimensions", 1024)
    if family == "titan-g1":
        _keys(body, {"inputText"}, ["inputText"])
        _string(body["inputText"], "#/inputText", 1)
        return [body["inputText"]], 1536
    if family in ("cohere-v3", "cohere-v4"):
        v4 = family == "cohere-v4"
        allowed = {"texts", "images", "input_type", "truncate", "embedding_types"}
        if v4:
            allowed |= {"output_dimension", "max_tokens", "inputs"}
        _keys(body, allowed, ["input_type"])
        kinds = ["search_document", "search_query", "classification", "clustering"] + ([] if v4 else ["image"])
        _enum(body["input_type"], kinds, "#/input_type")
        if "truncate" in body:
            _enum(body["truncate"], ["NONE", "LEFT", "RIGHT"] if v4 else ["NONE", "START", "END"], "#/truncate")
        texts = body.get("texts")
        if not isinstance(texts, list):
            raise _malformed("#: required key [texts] not found")
        if len(texts) > 96:
            raise _malformed(f"#/texts: expected maximum item count: 96, found: {len(texts)}")
        if not texts:
            raise validation("Invalid parameter combination")
        for i, t in enumerate(texts):
            _string(t, f"#/texts/{i}", 0, None if v4 else 2048)
        dims = 1024
        if v4:
            dims = body.get("output_dimension", 1536)
            if "output_dimension" in body:
                _enum(dims, [256, 512, 1024, 1536], "#/output_dimension")
        return texts, dims
    # nova
    _keys(body, {"schemaVersion", "taskType", "singleEmbeddingParams"}, ["taskType", "singleEmbeddingParams"])
    if "schemaVersion" in body:
        _enum(body["schemaVersion"], ["nova-multimodal-embed-v1"], "#/schemaVersion")
    _enum(body["taskType"], ["SINGLE_EMBEDDING"], "#/taskType")
    params = body["singleEmbeddingParams"]
    where = "#/singleEmbeddingParams"
    _keys(params, {"embeddingPurpose", "embeddingDimension", "text", "image", "audio", "video"},
          ["embeddingPurpose"], where)
    _enum(params["embeddingPurpose"], NOVA_PURPOSES, f"{where}/embeddingPurpose")
    dims = params.get("embeddingDimension", 3072)
    if "embeddingDimension" in params:
        _enum(dims, [256, 384, 1024, 3072], f"{where}/embeddingDimension")
    given = [k for k in ("text", "image", "audio", "video") if k in params]
    if given != ["text"]:
        raise validation("Exactly one of text, image, video or audio must be provided.")
    text = params["text"]
    _keys(text, {"truncationMode", "value", "source"}, ["truncationMode", "value"], f"{where}/text")
    _enum(text["truncationMode"], ["START", "END", "NONE"], f"{where}/text/truncationMode")
    _string(text["value"], f"{where}/text/value", 1, 8192)
    return [text["value"]], dims


def tokens(text):
    """The stand-in's token count of one text (about four characters a token)."""
    return max(1, (len(text) + 3) // 4)


def vector(model, text, dims):
    """The deterministic unit vector of `text`, as float32 values (Python floats)."""
    seed = hashlib.sha256(f"{model}\n{dims}\n{text}".encode()).digest()
    raw, counter = [], 0
    while len(raw) < dims:
        block = hashlib.sha256(seed + counter.to_bytes(4, "little")).digest()
        raw += [(b - 127.5) / 127.5 for b in block]
        counter += 1
    raw = raw[:dims]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [struct.unpack("<f", struct.pack("<f", x / norm))[0] for x in raw]


def answer(base, family, texts, dims):
    """(JSON body, input tokens) of a successful call."""
    counted = sum(tokens(t) for t in texts)
    vectors = [vector(base, t, dims) for t in texts]
    if family in ("titan-v2", "titan-g1"):
        body = {"embedding": vectors[0], "inputTextTokenCount": counted}
        if family == "titan-v2":
            body["embeddingsByType"] = {"float": vectors[0]}
    elif family == "cohere-v3":
        body = {"embeddings": vectors, "id": str(uuid.uuid4()), "response_type": "embeddings_floats", "texts": texts}
    elif family == "cohere-v4":
        body = {"id": str(uuid.uuid4()), "embeddings": {"float": vectors}, "response_type": "embeddings_by_type",
                "texts": texts}
    else:
        body = {"embeddings": [{"embeddingType": "TEXT", "embedding": vectors[0]}]}
    return body, counted
