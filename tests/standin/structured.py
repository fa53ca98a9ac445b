"""Structured output: ``outputConfig.textFormat`` (a JSON schema the answer's text
follows) and ``toolSpec.strict`` (tool inputs that follow their schema).

botocore's shapes (OutputConfig, OutputFormat, OutputFormatType = [json_schema],
OutputFormatStructure (a union), JsonSchemaDefinition {schema (String, required),
name, description}, ToolSpecification.strict (Boolean)) are already enforced by
:mod:`validation`; this module adds what Bedrock checks beyond them.

Sources, rule by rule:

- The model must take structured output (catalog ``structured_output``). Claude
  models without it answer through Anthropic's validator "The model returned the
  following errors: output_config.format: Extra inputs are not permitted"
  (vercel/ai#19988, vectorize-io/hindsight#3300); other models through Bedrock's
  JSON-schema validator "Malformed input request: #: extraneous key [outputConfig]
  is not permitted" (MattJColes/lgtmaybe#536).
- ``schema`` is a JSON *string* (botocore) that Bedrock parses and "validates ...
  against the supported JSON Schema Draft 2020-12 subset. If the schema contains
  unsupported features, Amazon Bedrock returns a 400 error immediately" (AWS user
  guide "Get validated JSON results from models", request workflow, step 2). The
  wording of those two refusals (not JSON, not a schema) has no public source: the
  stand-in's own sentences below.
- Every object must close itself: Claude answers "output_config.format.schema:
  For 'object' type, 'additionalProperties' must be explicitly set to false"
  (future-agi/future-agi#411); a strict tool "tools.0.custom: For 'object' type, ..."
  (strands-agents/harness-sdk#2210). Research §1 row 8 states the rule for every
  model; for the others the stand-in names Converse's own field path instead.
- Claude's grammar compiler rejects value bounds: "For 'array' type, property
  'maxItems' is not supported" (vercel/ai fixture issue-17197-max-items-error.json),
  "For 'integer' type, properties maximum, minimum are not supported"
  (gaiin-platform/amplify-genai-backend#383, AgentToolkit/altk-boost#118), one
  keyword "property 'minimum' is not supported" (agentjido/req_llm#302); the same on
  strict tools (BerriAI/litellm#39115). The keyword set is the one a peer keeps for
  Anthropic's compiler (systemprompt-models ``wire/anthropic/strict.rs``).
- ``toolSpec.strict`` on a Claude model without strict tools: "tools.0.custom.strict:
  Extra inputs are not permitted", for ``true`` and ``false`` alike
  (BerriAI/litellm#31582, #33193, #35688: "stop forwarding no-op toolSpec.strict").
  Other models: the stand-in's AWS-style prose, for ``true`` only.
"""

import copy
import json

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .errors import validation

SCHEMA_PATH = "outputConfig.textFormat.structure.jsonSchema.schema"

# Per JSON type, the keywords Claude's compiler refuses (see the module docstring).
_UNSUPPORTED = {
    "integer": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "string": ("minLength", "maxLength"),
    "array": ("maxItems", "uniqueItems"),
    "object": ("minProperties", "maxProperties"),
}
_SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


def _claude(row):
    return row["provider"] == "anthropic"


def _model_error(detail):
    return validation(f"The model returned the following errors: {detail}")


# -- schema walk -----------------------------------------------------------------------


def _types(node):
    kind = node.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    return []


def _children(node):
    for key in _SUBSCHEMA_LISTS:
        for child in node.get(key) or []:
            if isinstance(child, dict):
                yield child
    for key in _SUBSCHEMA_MAPS:
        for child in (node.get(key) or {}).values():
            if isinstance(child, dict):
                yield child
    for key in ("items", "additionalProperties", "not", "if", "then", "else"):
        if isinstance(node.get(key), dict):
            yield node[key]


def _nodes(schema):
    stack = [schema]
    while stack:
        node = stack.pop(0)
        yield node
        stack.extend(_children(node))


def _schema_problem(schema, claude):
    """The first rule a schema node breaks (a sentence without its path), or None."""
    for node in _nodes(schema):
        kinds = _types(node)
        if "object" in kinds and node.get("additionalProperties") is not False:
            return "For 'object' type, 'additionalProperties' must be explicitly set to false"
        if not claude:
            continue
        for kind in kinds:
            found = sorted(k for k in _UNSUPPORTED.get(kind, ()) if k in node)
            if len(found) == 1:
                return f"For '{kind}' type, property '{found[0]}' is not supported"
            if found:
                return f"For '{kind}' type, properties {', '.join(found)} are not supported"
    return None


# -- request checks ----------------------------------------------------------------------


def parse_schema(text):
    """The schema object of ``jsonSchema.schema`` (a JSON string); a 400 if it is none."""
    try:
        schema = json.loads(text)
    except ValueError:
        raise validation(f"The value at {SCHEMA_PATH} is not valid JSON. Provide the JSON schema as a "
                         "JSON string and try again.") from None
    if not isinstance(schema, dict):
        raise validation(f"The value at {SCHEMA_PATH} must be a JSON object that is a JSON schema.")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise validation(f"The JSON schema at {SCHEMA_PATH} is not valid: {exc.message}") from None
    return schema


def _check_text_format(text_format, row):
    if not row["structured_output"]:
        if _claude(row):
            raise _model_error("output_config.format: Extra inputs are not permitted")
        raise _model_error("Malformed input request: #: extraneous key [outputConfig] is not permitted, "
                           "please reformat your input and try again.")
    schema = parse_schema(text_format["structure"]["jsonSchema"]["schema"])
    problem = _schema_problem(schema, _claude(row))
    if problem and _claude(row):
        raise _model_error(f"output_config.format.schema: {problem}")
    if problem:
        raise validation(f"{SCHEMA_PATH}: {problem}")


def _check_strict(spec, converse_index, claude_index, row):
    if not row["strict_tools"]:
        if _claude(row):
            raise _model_error(f"tools.{claude_index}.custom.strict: Extra inputs are not permitted")
        if spec["strict"]:
            field = f"toolConfig.tools.{converse_index}.toolSpec.strict"
            raise validation(f"This model doesn't support the {field} field. Remove {field} and try again.")
        return
    if not spec["strict"]:
        return
    schema = spec["inputSchema"].get("json")
    problem = _schema_problem(schema, _claude(row)) if isinstance(schema, dict) else None
    if problem and _claude(row):
        raise _model_error(f"tools.{claude_index}.custom: {problem}")
    if problem:
        raise validation(f"toolConfig.tools.{converse_index}.toolSpec.inputSchema.json: {problem}")


def check(params, caps):
    """Bedrock's structured-output rules for the resolved model; raise a 400."""
    text_format = (params.get("outputConfig") or {}).get("textFormat")
    if text_format is not None:
        _check_text_format(text_format, caps.row)
    claude_index = 0
    for i, tool in enumerate((params.get("toolConfig") or {}).get("tools", [])):
        spec = tool.get("toolSpec")
        if spec is None:
            continue
        if "strict" in spec:
            _check_strict(spec, i, claude_index, caps.row)
        claude_index += 1


# -- answers ------------------------------------------------------------------------------


def answer_schema(params):
    """The schema the answer's text must follow, or None."""
    text_format = (params.get("outputConfig") or {}).get("textFormat")
    if text_format is None:
        return None
    return json.loads(text_format["structure"]["jsonSchema"]["schema"])


def strict_tool_schema(params, name):
    """The input schema of tool ``name`` when it is strict, else None."""
    for tool in (params.get("toolConfig") or {}).get("tools", []):
        spec = tool.get("toolSpec") or {}
        if spec.get("name") == name and spec.get("strict"):
            schema = spec["inputSchema"].get("json")
            return schema if isinstance(schema, dict) else None
    return None


_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z", "date": "2026-01-01", "time": "00:00:00Z",
    "email": "user@example.com", "uri": "https://example.com/", "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com", "ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "duration": "P1D",
}


def _resolve(node, root, depth):
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/") or depth > 32:
        return node
    target = root
    for part in ref[2:].split("/"):
        target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
    rest = {k: v for k, v in node.items() if k != "$ref"}
    return _resolve({**target, **rest}, root, depth + 1)


def _merge_all_of(node, root, depth):
    merged = {k: v for k, v in node.items() if k != "allOf"}
    for part in node["allOf"]:
        part = _resolve(part, root, depth + 1) if isinstance(part, dict) else {}
        for key, value in part.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                merged[key] = {**merged.get(key, {}), **value}
            elif key == "required" and isinstance(value, list):
                merged[key] = list(dict.fromkeys([*merged.get(key, []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


def _string(node):
    text = _FORMATS.get(node.get("format"), "text")
    least = node.get("minLength")
    if isinstance(least, int) and len(text) < least:
        text += "x" * (least - len(text))
    return text


def _number(node, integer):
    value = node.get("minimum", node.get("exclusiveMinimum", 0))
    if "exclusiveMinimum" in node and "minimum" not in node:
        value = value + 1 if integer else value + 0.5
    if isinstance(node.get("maximum"), (int, float)) and value > node["maximum"]:
        value = node["maximum"]
    return int(value) if integer else value


def _object(node, root, depth):
    out = {}
    properties = node.get("properties") or {}
    for name in node.get("required") or []:
        sub = properties.get(name)
        out[name] = instance(sub, root, depth + 1) if isinstance(sub, dict) else "text"
    return out


def _array(node, root, depth):
    count = node.get("minItems", 1) if isinstance(node.get("minItems"), int) else 1
    if isinstance(node.get("maxItems"), int):
        count = min(count, node["maxItems"])
    prefix = [p for p in node.get("prefixItems") or [] if isinstance(p, dict)]
    items = node.get("items") if isinstance(node.get("items"), dict) else {}
    out = [instance(p, root, depth + 1) for p in prefix[:count]]
    while len(out) < count:
        out.append(instance(items, root, depth + 1) if items else "text")
    return out


def instance(node, root=None, depth=0):
    """A small value valid against the JSON schema ``node`` (the answer a model constrained
    by it would give): required properties only, each enum's first value, a const as is,
    the first branch of anyOf/oneOf, minItems items (at least one), a format's example."""
    root = node if root is None else root
    if not isinstance(node, dict) or depth > 32:
        return None
    node = _resolve(node, root, depth)
    if isinstance(node.get("allOf"), list):
        node = _merge_all_of(node, root, depth)
    if "const" in node:
        return copy.deepcopy(node["const"])
    if isinstance(node.get("enum"), list) and node["enum"]:
        return copy.deepcopy(node["enum"][0])
    for key in ("anyOf", "oneOf"):
        branches = [b for b in node.get(key) or [] if isinstance(b, dict)]
        if branches:
            return instance({**{k: v for k, v in node.items() if k != key}, **branches[0]}, root, depth + 1)
    kinds = [k for k in _types(node) if k != "null"] or _types(node)
    kind = kinds[0] if kinds else ("object" if "properties" in node else "array" if "items" in node else None)
    if kind == "object":
        return _object(node, root, depth)
    if kind == "array":
        return _array(node, root, depth)
    if kind == "string":
        return _string(node)
    if kind in ("integer", "number"):
        return _number(node, kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return {}


def answer_text(params):
    """The JSON text of an answer constrained by outputConfig.textFormat, or None."""
    schema = answer_schema(params)
    return None if schema is None else json.dumps(instance(schema))
