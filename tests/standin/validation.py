"""Validate a Converse/ConverseStream JSON body against botocore's service model.

Three passes, like the service's own deserializer and validator:
1. blob members arrive as base64 strings in JSON: decode them (bad base64 fails);
2. botocore's ParamValidator: types, required members, unknown keys, unions;
3. :func:`constraint_errors`: min/max/length/range/enum/pattern from the model,
   which botocore does not enforce client-side.
"""

import base64
import binascii
import functools
import math
import re

import botocore.session
from botocore.validate import ParamValidator

from .errors import validation


@functools.lru_cache(maxsize=None)
def service_model():
    """botocore's bedrock-runtime service model (loaded once)."""
    return botocore.session.get_session().get_service_model("bedrock-runtime")


def input_shape(operation):
    """Input shape of ``Converse`` or ``ConverseStream``."""
    return service_model().operation_model(operation).input_shape


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def decode_blobs(value, shape, path, errors):
    """Return ``value`` with base64 blob strings replaced by bytes; collect bad base64 in ``errors``."""
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            errors.append(f"Invalid base64 for blob at '{path}'.")
            return value
    if shape.type_name == "structure" and not shape.is_document_type and isinstance(value, dict):
        return {k: decode_blobs(v, shape.members[k], _join(path, k), errors) if k in shape.members else v
                for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [decode_blobs(v, shape.member, _join(path, i), errors) for i, v in enumerate(value)]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: decode_blobs(v, shape.value, _join(path, k), errors) for k, v in value.items()}
    return value


def _fmt(value):
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return str(value)


def _check_length(value, shape, path, errors):
    size = len(value)
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    shown = _fmt(value) if isinstance(value, str) else f"<{shape.type_name} of {size}>"
    if lo is not None and size < lo:
        errors.append(f"Value '{shown}' at '{path}' failed to satisfy constraint: "
                      f"Member must have length greater than or equal to {lo}")
    if hi is not None and size > hi:
        errors.append(f"Value '{shown}' at '{path}' failed to satisfy constraint: "
                      f"Member must have length less than or equal to {hi}")


def _check_number(value, shape, path, errors):
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        errors.append(f"Value '{value}' at '{path}' is not a valid {shape.type_name}")
        return
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    if lo is not None and value < lo:
        errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                      f"Member must have value greater than or equal to {lo}")
    if hi is not None and value > hi:
        errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                      f"Member must have value less than or equal to {hi}")


def _check_string(value, shape, path, errors):
    _check_length(value, shape, path, errors)
    if shape.enum and value not in shape.enum:
        errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                      f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    pattern = shape.metadata.get("pattern")
    if pattern:
        try:
            ok = re.fullmatch(pattern, value, flags=re.DOTALL) is not None
        except re.error:
            ok = True  # a pattern Python cannot compile is not ours to judge
        if not ok:
            errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                          f"Member must satisfy regular expression pattern: {pattern}")


def constraint_errors(value, shape, path="", errors=None):
    """Collect min/max/enum/pattern violations of an already type-checked value."""
    errors = [] if errors is None else errors
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return errors
        for key, member in shape.members.items():
            if key in value:
                constraint_errors(value[key], member, _join(path, key), errors)
    elif kind == "list":
        _check_length(value, shape, path, errors)
        for i, item in enumerate(value):
            constraint_errors(item, shape.member, _join(path, i), errors)
    elif kind == "map":
        _check_length(value, shape, path, errors)
        for key, item in value.items():
            constraint_errors(key, shape.key, _join(path, key), errors)
            constraint_errors(item, shape.value, _join(path, key), errors)
    elif kind == "string":
        _check_string(value, shape, path, errors)
    elif kind == "blob":
        _check_length(value, shape, path, errors)
    elif kind in ("integer", "long", "float", "double"):
        _check_number(value, shape, path, errors)
    return errors


def _report(errors):
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(errors)


def validate_body(body, operation, model_id):
    """Validate a parsed JSON body for ``operation``; raise a 400 ValidationException on failure.

    Returns the params with blobs decoded (bytes), plus ``modelId``.
    """
    if not isinstance(body, dict):
        raise validation("Malformed input request: the request body must be a JSON object.")
    if "modelId" in body:
        raise validation("1 validation error detected: Unknown parameter in input: \"modelId\" "
                         "(modelId belongs in the URI, not the JSON body)")
    shape = input_shape(operation)
    errors = []
    params = decode_blobs(dict(body, modelId=model_id), shape, "", errors)
    if errors:
        raise validation(_report(errors))
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        # botocore says "messages[0].content"; Bedrock says "messages.0.content".
        lines = [re.sub(r"\[(\d+)\]", r".\1", line) for line in report.generate_report().splitlines()]
        raise validation(_report(lines))
    errors = constraint_errors(params, shape)
    if errors:
        raise validation(_report(errors))
    return params
