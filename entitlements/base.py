"""Shared pydantic base: Graph's camelCase names in files and on the wire, snake_case in code."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, TypeAdapter
from pydantic.alias_generators import to_camel


class GraphModel(BaseModel):
    """A model whose YAML/JSON names are Graph's camelCase; unknown fields are refused, so a
    typo in a catalog is a problem reported, not a setting silently ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    return value


def _iso_8601_text(value: object) -> object:
    # pydantic also reads "14 days" or a bare number; a catalog says durations one way only.
    if isinstance(value, str) and not value.strip().upper().startswith("P"):
        raise ValueError(f"'{value}' is not an ISO 8601 duration (like P14D, PT8H or PT30S)")
    if isinstance(value, int | float):
        raise ValueError(f"{value} is not an ISO 8601 duration (like P14D, PT8H or PT30S)")
    return value


# ISO 8601 duration (P14D, PT8H, PT30S); pydantic parses and serialises it.
Duration = Annotated[timedelta, BeforeValidator(_iso_8601_text), AfterValidator(_not_negative)]


def normalise_email(address: str) -> str:
    """People are compared by address, case-insensitively, as Entra does."""
    return address.strip().lower()


_DURATION = TypeAdapter(timedelta)


def iso_duration(value: timedelta) -> str:
    """A duration as people write it in the catalog: P14D, PT8H, PT30S."""
    return _DURATION.dump_python(value, mode="json")


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date and time with its time zone (a moment, not a wall-clock time), or a
    ValueError saying what is wrong with it."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise ValueError(f"'{text}' needs a time zone (e.g. Z or +01:00)")
    return moment
