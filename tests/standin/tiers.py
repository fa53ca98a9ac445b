"""Service tiers (``serviceTier``) and latency-optimized inference (``performanceConfig``).

botocore: ``serviceTier`` is a ServiceTier structure ``{type}`` with ServiceTierType =
priority | default | flex | reserved; ``performanceConfig`` is PerformanceConfiguration
``{latency}`` with PerformanceConfigLatency = standard | optimized. Both come back in
ConverseResponse and in ConverseStream's metadata event (the same member names).

- A tier the model is not served in (catalog ``service_tiers``): "The provided service
  tier is not supported for this model." (maximhq/bifrost#7270, HTTP 400). ``reserved``
  needs a reservation this account does not have: "Reservation not found."
  (envoyproxy/ai-gateway#1749, NousResearch/hermes-agent#34476). The answer echoes the
  tier served: ``"serviceTier": {"type": "flex"}`` (realdata n15); a request without
  the field gets none back (realdata n01-n13).
- ``latency: optimized`` is not refused: "Once you reach the usage quota for latency
  optimization for a model, we will attempt to serve the request with Standard
  latency ... The latency configuration for a served request is visible in API
  response" (AWS user guide "Optimize model inference for latency"), and live probes
  saw 200s (hermes-agent#34476). So a model without latency optimization (catalog
  ``latency_optimized``) is served, and answers, ``standard``; one with it answers
  ``optimized`` (realdata n14). A request without the field gets none back.
"""

from .errors import validation

UNSUPPORTED_TIER = "The provided service tier is not supported for this model."
NO_RESERVATION = "Reservation not found."


def check(params, caps):
    """Refuse a service tier the model is not served in (a 400 as Bedrock's)."""
    tier = params.get("serviceTier")
    if tier is None or tier["type"] in caps.row["service_tiers"]:
        return
    raise validation(NO_RESERVATION if tier["type"] == "reserved" else UNSUPPORTED_TIER)


def latency_served(params, row):
    """The latency a request is served with: None (not asked), standard or optimized."""
    config = params.get("performanceConfig")
    if not config or "latency" not in config:
        return None
    return "optimized" if config["latency"] == "optimized" and row["latency_optimized"] else "standard"


def echo(params, row):
    """The response members that say how the request was served (serviceTier, performanceConfig)."""
    out = {}
    if params.get("serviceTier"):
        out["serviceTier"] = {"type": params["serviceTier"]["type"]}
    latency = latency_served(params, row)
    if latency:
        out["performanceConfig"] = {"latency": latency}
    return out
