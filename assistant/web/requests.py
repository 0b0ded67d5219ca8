"""The base of every JSON request body of the HTTP API: one holding text UTF-8 cannot carry
(a lone surrogate, anywhere in it) is refused with a 422 before any handler sees it."""
from __future__ import annotations

from pydantic import BaseModel, model_validator
from pydantic_core import PydanticCustomError

from ..wellformed import INVALID_TEXT, INVALID_TEXT_MESSAGE, malformed


class RequestModel(BaseModel):
    """Base of every JSON request body: one with a lone surrogate anywhere is a 422."""

    @model_validator(mode="before")
    @classmethod
    def _well_formed(cls, data):
        if malformed(data):
            raise PydanticCustomError(INVALID_TEXT, INVALID_TEXT_MESSAGE)
        return data
