"""The models the stand-in knows and what each supports (BEDROCK.md's table)."""

from collections import namedtuple

Caps = namedtuple("Caps", "system tools stream_tools images")

MODELS = {
    "amazon.titan-text-express-v1": Caps(False, False, False, False),
    "anthropic.claude-3-sonnet-20240229-v1:0": Caps(True, True, True, True),
    "anthropic.claude-3-haiku-20240307-v1:0": Caps(True, True, True, True),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": Caps(True, True, True, True),
    "meta.llama3-8b-instruct-v1:0": Caps(True, False, False, False),
    "meta.llama3-70b-instruct-v1:0": Caps(True, False, False, False),
    "mistral.mistral-7b-instruct-v0:2": Caps(False, False, False, False),
    "mistral.mixtral-8x7b-instruct-v0:1": Caps(False, False, False, False),
    "mistral.mistral-large-2402-v1:0": Caps(True, True, False, False),
}


def capabilities(model_id):
    """Return the :class:`Caps` of ``model_id`` (decoded), or None if unknown."""
    return MODELS.get(model_id)
