"""AWS-shaped errors of the bus.

Every error the bus raises for a request carries the AWS error code (the
class's ``code``), the HTTP status AWS answers with, and AWS's message text,
so code written against boto3's ``events`` client can catch the same names
(``bus.exceptions.ResourceNotFoundException``) and read the same fields
(``err.response["Error"]["Code"]``).
"""

from __future__ import annotations

from typing import Any


class BusError(Exception):
    """Base of every error a bus operation raises; ``code`` is AWS's error code."""

    code = "InternalException"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def response(self) -> dict[str, Any]:
        """The error as boto3's ``ClientError.response`` shapes it."""
        return {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {"HTTPStatusCode": self.status},
        }

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ValidationException(BusError):
    code = "ValidationException"


class ResourceNotFoundException(BusError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExistsException(BusError):
    code = "ResourceAlreadyExistsException"


class LimitExceededException(BusError):
    code = "LimitExceededException"

    def __init__(
        self, message: str = "The requested resource exceeds the maximum number allowed."
    ) -> None:
        super().__init__(message)


class InvalidEventPatternException(BusError):
    code = "InvalidEventPatternException"


class IllegalStatusException(BusError):
    code = "IllegalStatusException"


class ConcurrentModificationException(BusError):
    code = "ConcurrentModificationException"


class ManagedRuleException(BusError):
    code = "ManagedRuleException"


class InternalException(BusError):
    code = "InternalException"
    status = 500


ERRORS: tuple[type[BusError], ...] = (
    ValidationException,
    ResourceNotFoundException,
    ResourceAlreadyExistsException,
    LimitExceededException,
    InvalidEventPatternException,
    IllegalStatusException,
    ConcurrentModificationException,
    ManagedRuleException,
    InternalException,
)


class Exceptions:
    """``bus.exceptions.X`` as on a boto3 client."""

    BusError = BusError
    ClientError = BusError
    ValidationException = ValidationException
    ResourceNotFoundException = ResourceNotFoundException
    ResourceAlreadyExistsException = ResourceAlreadyExistsException
    LimitExceededException = LimitExceededException
    InvalidEventPatternException = InvalidEventPatternException
    IllegalStatusException = IllegalStatusException
    ConcurrentModificationException = ConcurrentModificationException
    ManagedRuleException = ManagedRuleException
    InternalException = InternalException
