"""The models the stand-in serves, and how Bedrock resolves the model id in a path.

The facts about each model come from the project's catalog
(src/catalog/models.json, every row sourced from AWS's documentation,
botocore and peers' model maps). What Bedrock does with an id is
implemented here, from AWS's documentation, independently of the filter:

- a base id answers only where the model is invoked on demand; a profile-only
  model's base id gets Bedrock's "on-demand throughput isn't supported";
- a cross-region profile `<geo>.<base id>` exists only for the geos the
  catalog lists, and is invoked from a Region of that geography (`global`
  from any);
- an ARN names a resource in the signing Region: a system-defined
  inference profile or foundation model, or an application inference profile
  or provisioned model this "account" created (registered through the control
  API, `POST /_standin/inference-profiles`).
"""

import json
import os
import re
import threading
from collections import namedtuple

from .errors import validation

CATALOG = os.environ.get("STANDIN_CATALOG") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "catalog", "models.json")

Caps = namedtuple("Caps", "system tools stream_tools images documents row")

INVALID_ID = "The provided model identifier is invalid."

# AWS's geographies of cross-Region inference: which source Regions invoke a geo's profiles.
_GEO_REGIONS = {
    "us": re.compile(r"^us-(east|west)-\d+$"),
    "us-gov": re.compile(r"^us-gov-(east|west)-\d+$"),
    "eu": re.compile(r"^eu-[a-z]+-\d+$"),
    "apac": re.compile(r"^ap-[a-z]+-\d+$"),
    "jp": re.compile(r"^ap-northeast-[13]$"),
    "au": re.compile(r"^ap-southeast-[24]$"),
    "ca": re.compile(r"^ca-[a-z]+-\d+$"),
    "in": re.compile(r"^ap-south-\d+$"),
}
_ARN = re.compile(r"^arn:aws(-[a-z]+)*:bedrock:([a-z0-9-]{1,20}):(\d{12})?:([a-z-]+)/(.+)$")


def _load():
    with open(CATALOG, encoding="utf-8") as f:
        return {m["id"]: m for m in json.load(f)["models"]}


MODELS = _load()
_registered = {}
_lock = threading.Lock()


def register(arn, model_id):
    """Create an application inference profile (or provisioned model) `arn` serving `model_id`."""
    if model_id not in MODELS:
        raise ValueError(f"{model_id!r} is not a model of the catalog")
    if not _ARN.match(arn):
        raise ValueError(f"{arn!r} is not a Bedrock ARN")
    with _lock:
        _registered[arn] = model_id


def forget_registered():
    """Delete every registered ARN (a reset)."""
    with _lock:
        _registered.clear()


def _caps(model_id):
    row = MODELS[model_id]
    return Caps(row["system"], row["tools"], row["tools_streaming"], row["images"], row["documents"], row)


def _profile(geo, base, region):
    row = MODELS.get(base)
    if row is None or geo not in row["profiles"]:
        raise validation(INVALID_ID)
    if geo != "global" and not _GEO_REGIONS.get(geo, re.compile("$^")).match(region or ""):
        raise validation(INVALID_ID)
    return _caps(base)


def _arn(model_id, region):
    m = _ARN.match(model_id)
    if not m or m.group(2) != region:
        raise validation(INVALID_ID)
    kind, resource = m.group(4), m.group(5)
    if kind == "foundation-model":
        return resolve(resource, region, arn=True)
    if kind == "inference-profile":
        geo, _, base = resource.partition(".")
        return _profile(geo, base, region)
    with _lock:
        base = _registered.get(model_id)
    if base is None:
        raise validation(INVALID_ID)
    return _caps(base)


def resolve(model_id, region, arn=False):
    """The :class:`Caps` of the model `model_id` names when called in `region`; a 400 as Bedrock's otherwise."""
    if model_id is None:
        raise validation(INVALID_ID)
    if model_id.startswith("arn:") and not arn:
        return _arn(model_id, region)
    row = MODELS.get(model_id)
    if row is not None:
        if not row["on_demand"]:
            raise validation(f"Invocation of model ID {model_id} with on-demand throughput isn't supported. "
                             "Retry your request with the ID or ARN of an inference profile that contains "
                             "this model.")
        return _caps(model_id)
    geo, _, base = model_id.partition(".")
    if geo in row_geos():
        return _profile(geo, base, region)
    raise validation(INVALID_ID)


def row_geos():
    """Every geo prefix some catalog profile uses."""
    return {g for row in MODELS.values() for g in row["profiles"]}
