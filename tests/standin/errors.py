"""Bedrock-shaped errors: name, HTTP status, x-amzn-ErrorType header, JSON body."""

import json

BEDROCK_NS = "http://internal.amazon.com/coral/com.amazon.bedrock/"
CORAL_NS = "http://internal.amazon.com/coral/com.amazon.coral.service/"

STATUS = {
    "AccessDeniedException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "IncompleteSignatureException": 403,
    "MissingAuthenticationTokenException": 403,
    "ValidationException": 400,
    "SerializationException": 400,
    "ResourceNotFoundException": 404,
    "UnknownOperationException": 404,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}

# AWS-wide (Coral) errors live in a different namespace than Bedrock's own.
_CORAL_ERRORS = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "SerializationException",
    "UnknownOperationException",
}

DEFAULT_MESSAGES = {
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ModelNotReadyException": "Model is not ready to serve inference requests.",
    "ModelTimeoutException": "Model has timed out in processing the request.",
    "ModelErrorException": "The model encountered an error processing the request.",
    "InternalServerException": "The server encountered an internal error.",
    "ServiceUnavailableException": "Bedrock is unable to process your request.",
    "AccessDeniedException": "You don't have access to the model with the specified model ID.",
    "ResourceNotFoundException": "The requested resource could not be found.",
    "ValidationException": "The request is invalid.",
}


class StandinError(Exception):
    """An error the stand-in answers with, in Bedrock's wire shape.

    ``coral`` forces the AWS-wide namespace in x-amzn-ErrorType (the front door's
    own refusals, e.g. an API key's AccessDeniedException: awslabs/aws-sdk-swift#1991
    shows ``AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/``);
    ``message_key`` is the body's key: ``message``, or ``Message`` where AWS capitalises
    it (the API-key refusals: anomalyco/opencode#47073, ai4s-research/open-science#53).
    """

    def __init__(self, name, message=None, status=None, coral=None, message_key="message"):
        super().__init__(message)
        self.name = name
        self.message = message if message is not None else DEFAULT_MESSAGES.get(name, name)
        self.status = status if status is not None else STATUS.get(name, 400)
        self.coral = self.name in _CORAL_ERRORS if coral is None else coral
        self.message_key = message_key

    def header_value(self):
        """Value of the x-amzn-ErrorType header, e.g. ``ValidationException:http://...``."""
        ns = CORAL_NS if self.coral else BEDROCK_NS
        return f"{self.name}:{ns}"

    def body(self):
        """JSON body bytes: ``{"message": ...}`` (or ``{"Message": ...}``)."""
        return json.dumps({self.message_key: self.message}).encode()


def validation(message):
    """Shorthand for a 400 ValidationException."""
    return StandinError("ValidationException", message)
