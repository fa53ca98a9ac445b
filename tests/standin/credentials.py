"""Credentials the stand-in accepts (the only ones it knows).

Tests sign with these; any other access key id is rejected with
403 UnrecognizedClientException, as AWS does.
"""

PERMANENT = {
    "access_key_id": "AKIASTANDIN000000001",
    "secret_access_key": "standinSecretKey/0001+abcdefghijklmnopqrst",
}

TEMPORARY = {
    "access_key_id": "ASIASTANDIN000000002",
    "secret_access_key": "standinSecretKey/0002+abcdefghijklmnopqrst",
    "session_token": "standin-session-token-0002//abcdefghijklmnopqrstuvwxyz==",
}

ALL = (PERMANENT, TEMPORARY)

# A long-term Bedrock API key the stand-in knows ("ABSK" + base64 of
# "BedrockAPIKey-<id>-at-<account>:<secret>", the shape of real long-term keys; see
# bearer.py). Short-term keys need no entry: they are presigned with PERMANENT or
# TEMPORARY (testing.short_term_key).
BEARER_LONG_TERM = (
    "ABSKQmVkcm9ja0FQSUtleS1zdG5kLWF0LTAwMDAwMDAwMDAwMDpzdGFuZGlu"
    "QmVhcmVyU2VjcmV0MDAwMSthYmNkZWZnaGlqa2xtbm9w"
)


def lookup(access_key_id):
    """Return the credential dict for ``access_key_id``, or None if unknown."""
    for cred in ALL:
        if cred["access_key_id"] == access_key_id:
            return cred
    return None
