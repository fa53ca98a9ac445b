"""Credentials the e2e tests send: project keys (test-only values) and aws-* headers."""

from standin.credentials import PERMANENT, TEMPORARY  # noqa: F401  (re-exported)

PROJECT_KEY_ALPHA = "sk-test-alpha-0000000000000000000001"
PROJECT_KEY_BETA = "sk-test-beta-00000000000000000000002"

# What the gateway fixture puts in PROJECT_API_KEYS.
PROJECT_API_KEYS = f"alpha={PROJECT_KEY_ALPHA},beta={PROJECT_KEY_BETA}"


def aws_headers(credentials=PERMANENT, region="us-east-1"):
    """The aws-* request headers the gateway signs with (CONTRACT.md)."""
    headers = {
        "aws-access-key-id": credentials["access_key_id"],
        "aws-secret-access-key": credentials["secret_access_key"],
        "aws-region-name": region,
    }
    if "session_token" in credentials:
        headers["aws-session-token"] = credentials["session_token"]
    return headers
