"""Structured output: outputConfig.textFormat and toolSpec.strict, refused as Bedrock
refuses them, and answered with JSON that follows the schema (Converse and
ConverseStream, through botocore's own client)."""

import json

import pytest
from jsonschema import Draft202012Validator

from standin import testing

SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"   # structured output and strict tools
SONNET5 = "us.anthropic.claude-sonnet-5"                     # structured output, no strict tools; profile only
OPUS47 = "us.anthropic.claude-opus-4-7"                      # neither; profile only
NOVA_PRO = "amazon.nova-pro-v1:0"                            # neither, not Claude
QWEN = "qwen.qwen3-32b-v1:0"                                 # structured output, no strict tools
HI = [{"role": "user", "content": [{"text": "Hello there"}]}]
WEATHER_Q = [{"role": "user", "content": [{"text": "What's the weather in Paris?"}]}]
PREFIX = "The model returned the following errors: "

PERSON = {"type": "object", "additionalProperties": False, "required": ["name", "age", "tags", "address"],
          "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "nickname": {"type": "string"},
                         "tags": {"type": "array", "items": {"type": "string", "enum": ["red", "blue"]}},
                         "address": {"type": "object", "additionalProperties": False, "required": ["city"],
                                     "properties": {"city": {"type": "string"}}}}}


def text_format(schema, **extra):
    text = schema if isinstance(schema, str) else json.dumps(schema)
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": text, **extra}}}}


def converse(url, model, messages=HI, **kwargs):
    return testing.client(url).converse(modelId=model, messages=messages, **kwargs)


def refused(url, model, messages=HI, stream=False, **kwargs):
    return testing.refused(testing.client(url), model, messages, stream, **kwargs)


def answer_text(out):
    return "".join(b["text"] for b in out["output"]["message"]["content"] if "text" in b)


def streamed_text(url, model, **kwargs):
    out = testing.client(url).converse_stream(modelId=model, messages=HI, **kwargs)
    return "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in out["stream"] if "contentBlockDelta" in e)


# -- accepted: the answer follows the schema ----------------------------------------------

SCHEMAS = {
    "person": PERSON,
    "enum-const": {"type": "object", "additionalProperties": False, "required": ["kind", "version"],
                   "properties": {"kind": {"enum": ["cat", "dog"]}, "version": {"const": 2}}},
    "refs-and-anyof": {"type": "object", "additionalProperties": False, "required": ["item", "maybe"],
                       "$defs": {"item": {"type": "object", "additionalProperties": False, "required": ["id"],
                                          "properties": {"id": {"type": "string", "format": "uuid"}}}},
                       "properties": {"item": {"$ref": "#/$defs/item"},
                                      "maybe": {"anyOf": [{"type": "number"}, {"type": "null"}]}}},
    "array-minitems": {"type": "object", "additionalProperties": False, "required": ["xs", "when"],
                       "properties": {"xs": {"type": "array", "minItems": 1, "items": {"type": "boolean"}},
                                      "when": {"type": ["string", "null"], "format": "date-time"}}},
    "top-level-array": {"type": "array", "items": {"type": "integer"}},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_answer_text_is_json_valid_against_the_schema(url, name):
    schema = SCHEMAS[name]
    out = converse(url, SONNET45, outputConfig=text_format(schema, name="answer", description="The answer"))
    value = json.loads(answer_text(out))
    Draft202012Validator(schema).validate(value)
    assert out["stopReason"] == "end_turn"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_streamed_answer_text_is_json_valid_against_the_schema(url, name):
    schema = SCHEMAS[name]
    text = streamed_text(url, SONNET45, outputConfig=text_format(schema))
    Draft202012Validator(schema).validate(json.loads(text))


def test_person_answer_has_the_required_properties_only(url):
    value = json.loads(answer_text(converse(url, SONNET45, outputConfig=text_format(PERSON))))
    assert set(value) == {"name", "age", "tags", "address"}
    assert value["tags"][0] == "red" and value["address"] == {"city": value["address"]["city"]}


def test_open_model_takes_value_bounds_and_honours_them(url):
    schema = {"type": "object", "additionalProperties": False, "required": ["score", "word"],
              "properties": {"score": {"type": "integer", "minimum": 3, "maximum": 9},
                             "word": {"type": "string", "minLength": 12}}}
    value = json.loads(answer_text(converse(url, QWEN, outputConfig=text_format(schema))))
    Draft202012Validator(schema).validate(value)


def test_a_script_text_wins(url):
    assert testing.control(url, "POST", "/_standin/script", {"text": "not json"})[0] == 200
    assert answer_text(converse(url, SONNET45, outputConfig=text_format(PERSON))) == "not json"


# -- refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_claude_without_structured_output_refuses_it_through_anthropics_validator(url, stream):
    message = refused(url, OPUS47, stream=stream, outputConfig=text_format(PERSON))
    assert message == PREFIX + "output_config.format: Extra inputs are not permitted"


def test_other_models_without_it_refuse_the_field_by_name(url):
    message = refused(url, NOVA_PRO, outputConfig=text_format(PERSON))
    assert message == (PREFIX + "Malformed input request: #: extraneous key [outputConfig] is not permitted, "
                       "please reformat your input and try again.")


@pytest.mark.parametrize("schema, fragment", [
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('"object"', "must be a JSON object"),
    (json.dumps({"type": 5}), "is not valid"),
    (json.dumps({"type": "object", "required": "name"}), "is not valid"),
])
def test_schema_must_be_a_json_schema_object(url, schema, fragment):
    message = refused(url, SONNET45, outputConfig=text_format(schema))
    assert fragment in message and "outputConfig.textFormat.structure.jsonSchema.schema" in message


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string"}}},
    {"type": "object", "additionalProperties": True},
    {"type": "object", "additionalProperties": False, "properties": {
        "inner": {"type": "object", "properties": {}}}},
    {"type": "array", "items": {"type": ["object", "null"]}},
])
def test_claude_objects_must_be_closed(url, schema):
    message = refused(url, SONNET45, outputConfig=text_format(schema))
    assert message == (PREFIX + "output_config.format.schema: For 'object' type, 'additionalProperties' "
                       "must be explicitly set to false")


def test_other_models_name_the_converse_field_when_an_object_is_open(url):
    message = refused(url, QWEN, outputConfig=text_format({"type": "object"}))
    assert message == ("outputConfig.textFormat.structure.jsonSchema.schema: For 'object' type, "
                       "'additionalProperties' must be explicitly set to false")


@pytest.mark.parametrize("schema, detail", [
    ({"type": "array", "items": {"type": "string"}, "maxItems": 3},
     "For 'array' type, property 'maxItems' is not supported"),
    ({"type": "object", "additionalProperties": False, "properties": {
        "rating": {"type": "integer", "minimum": 1, "maximum": 5}}},
     "For 'integer' type, properties maximum, minimum are not supported"),
    ({"type": "object", "additionalProperties": False, "properties": {"age": {"type": "integer", "minimum": 0}}},
     "For 'integer' type, property 'minimum' is not supported"),
    ({"type": "string", "maxLength": 10}, "For 'string' type, property 'maxLength' is not supported"),
])
def test_claude_refuses_value_bounds(url, schema, detail):
    assert refused(url, SONNET45, outputConfig=text_format(schema)) == PREFIX + "output_config.format.schema: " + detail


def test_schema_members_follow_botocore(url, recorded):
    # botocore's shapes: type is the enum [json_schema], jsonSchema.schema is required.
    for output_config, fragment in [
        ({"textFormat": {"type": "xml", "structure": {"jsonSchema": {"schema": "{}"}}}},
         "outputConfig.textFormat.type"),
        ({"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"name": "x"}}}}, "schema"),
        ({"textFormat": {"type": "json_schema"}}, "structure"),
    ]:
        status, _, data = testing.call(url, SONNET45, {"messages": HI, "outputConfig": output_config})
        assert status == 400 and fragment in json.loads(data)["message"], data


# -- strict tools ----------------------------------------------------------------------------

CITY = {"type": "object", "additionalProperties": False, "required": ["city", "unit"],
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}}}


def tools(*specs):
    return {"tools": [{"toolSpec": s} for s in specs]}


def weather(strict=None, schema=CITY, name="get_weather"):
    spec = {"name": name, "description": "Weather", "inputSchema": {"json": schema}}
    return spec if strict is None else {**spec, "strict": strict}


@pytest.mark.parametrize("stream", [False, True])
def test_strict_tool_input_follows_its_schema(url, stream):
    c = testing.client(url)
    if stream:
        out = c.converse_stream(modelId=SONNET45, messages=WEATHER_Q, toolConfig=tools(weather(True)))
        raw = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in out["stream"]
                      if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"])
        value = json.loads(raw)
    else:
        out = c.converse(modelId=SONNET45, messages=WEATHER_Q, toolConfig=tools(weather(True)))
        [block] = out["output"]["message"]["content"]
        value = block["toolUse"]["input"]
    Draft202012Validator(CITY).validate(value)


def test_strict_false_is_accepted_where_strict_tools_are(url):
    out = converse(url, SONNET45, WEATHER_Q, toolConfig=tools(weather(False)))
    assert out["stopReason"] == "tool_use"


@pytest.mark.parametrize("strict", [True, False])
def test_claude_without_strict_tools_refuses_the_key(url, strict):
    message = refused(url, SONNET5, WEATHER_Q, toolConfig=tools(weather(name="a"), weather(strict, name="b")))
    assert message == PREFIX + "tools.1.custom.strict: Extra inputs are not permitted"


def test_other_models_without_strict_tools_refuse_strict_true_only(url):
    message = refused(url, QWEN, WEATHER_Q, toolConfig=tools(weather(True)))
    assert message == ("This model doesn't support the toolConfig.tools.0.toolSpec.strict field. "
                       "Remove toolConfig.tools.0.toolSpec.strict and try again.")
    assert converse(url, QWEN, WEATHER_Q, toolConfig=tools(weather(False)))["stopReason"] == "tool_use"


def test_strict_tool_schema_follows_claudes_rules(url):
    message = refused(url, SONNET45, WEATHER_Q, toolConfig=tools(weather(True, {"type": "object"})))
    assert message == (PREFIX + "tools.0.custom: For 'object' type, 'additionalProperties' must be explicitly "
                       "set to false")
    bounded = {**CITY, "properties": {**CITY["properties"], "days": {"type": "array", "maxItems": 7}}}
    message = refused(url, SONNET45, WEATHER_Q, toolConfig=tools(weather(True, bounded)))
    assert message == PREFIX + "tools.0.custom: For 'array' type, property 'maxItems' is not supported"
    # The same schema on a tool that is not strict is not compiled: accepted.
    assert converse(url, SONNET45, WEATHER_Q, toolConfig=tools(weather(None, bounded)))["stopReason"] == "tool_use"
