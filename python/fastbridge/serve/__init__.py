"""``fastbridge serve``: the bus over HTTP, speaking EventBridge's own
protocol (AWS JSON 1.1, SigV4-signed), so boto3, the AWS CLI and every AWS
SDK work against it by setting the endpoint URL."""

from fastbridge.serve.app import EventsApp, Limits
from fastbridge.serve.server import Server, load_credentials
from fastbridge.serve.sigv4 import Credentials, SignatureError, Verifier

__all__ = [
    "Credentials",
    "EventsApp",
    "Limits",
    "Server",
    "SignatureError",
    "Verifier",
    "load_credentials",
]
