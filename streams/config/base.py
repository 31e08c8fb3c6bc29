"""What every section of the worker config shares: strict models, ids, the error type."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class ConfigError(ValueError):
    """A config file that cannot run; the message names the field and the problem."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
