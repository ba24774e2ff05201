"""Block types, their config models, names, control values and what they bind.

Configs are validated on save by pydantic models that refuse unknown fields;
the normalized config (JSON mode, no unset optionals) is what gets stored.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ballast_tui.engine.errors import InvalidRequest

NAME_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_NAME_LENGTH = 63
RELATIVE_DAYS = re.compile(r"^([1-9][0-9]{0,4})d$")

DATERANGE = "filter-daterange"
ENUM = "param-enum"
CONTROL_TYPES = frozenset({DATERANGE, ENUM})
SOURCE_READERS = frozenset({"chart", "table", "metric"})


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SqlConfig(_Config):
    sql: Annotated[str, Field(min_length=1, max_length=200_000)]
    inputs: list[str] = Field(default_factory=list)


STACKING_KINDS = ("bar", "area")
"""Chart kinds that may stack their series (`stacked`)."""


class ChartConfig(_Config):
    source: str
    kind: Literal["line", "bar", "scatter", "area", "histogram"]
    x: str
    y: str | Annotated[list[str], Field(min_length=1)]
    series: Annotated[str, Field(min_length=1)] | None = None
    stacked: bool | None = None
    title: str | None = None

    @field_validator("series")
    @classmethod
    def _one_y_per_series(cls, series: str | None, info: ValidationInfo) -> str | None:
        kind, x, y = info.data.get("kind"), info.data.get("x"), info.data.get("y")
        if series is None or kind is None:
            return series
        if kind == "histogram":
            raise ValueError("a histogram bins one column; series is for line, bar, scatter and area charts")
        ys = y if isinstance(y, list) else [y]
        if len(ys) > 1:
            raise ValueError(
                "with series, y names one column (each value of the series column draws it); "
                f"got {len(ys)}: {', '.join(map(str, ys))}"
            )
        if series == x or series in ys:
            raise ValueError(f"series {series!r} must be a column other than x and y")
        return series

    @field_validator("stacked")
    @classmethod
    def _stacks_bars_and_areas(cls, stacked: bool | None, info: ValidationInfo) -> bool | None:
        kind = info.data.get("kind")
        if stacked and kind is not None and kind not in STACKING_KINDS:
            raise ValueError(
                f"a {kind} chart cannot stack: stacked is for bar and area charts "
                "(leave it out, or use kind bar or area)"
            )
        return stacked


class TableConfig(_Config):
    source: str
    columns: list[str] | None = None


class MetricConfig(_Config):
    source: str
    column: str
    format: str | None = None


class MarkdownConfig(_Config):
    text: Annotated[str, Field(max_length=100_000)]


class DateRange(_Config):
    start: str
    end: str

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        start, end = _parse_date(self.start), _parse_date(self.end)
        if start > end:
            raise ValueError(f"the range starts ({self.start}) after it ends ({self.end})")
        return self


DateRangeValue = str | DateRange


class DateRangeConfig(_Config):
    default: DateRangeValue = "7d"

    @model_validator(mode="after")
    def _valid_default(self) -> DateRangeConfig:
        if isinstance(self.default, str):
            _check_relative(self.default)
        return self


EnumOption = str | int | float | bool


class EnumConfig(_Config):
    options: Annotated[list[EnumOption], Field(min_length=1, max_length=10_000)]
    default: EnumOption | None = None

    @model_validator(mode="after")
    def _default_is_an_option(self) -> EnumConfig:
        if self.default is None:
            self.default = self.options[0]
        elif not _is_option(self.default, self.options):
            raise ValueError(f"default {self.default!r} is not one of the options")
        return self


CONFIG_MODELS: dict[str, type[_Config]] = {
    "sql": SqlConfig,
    "chart": ChartConfig,
    "table": TableConfig,
    "metric": MetricConfig,
    "markdown": MarkdownConfig,
    DATERANGE: DateRangeConfig,
    ENUM: EnumConfig,
}
BLOCK_TYPES = tuple(CONFIG_MODELS)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _check_relative(text: str) -> None:
    if text != "today" and not RELATIVE_DAYS.match(text):
        raise ValueError(f"{text!r} is not a date range: use 'Nd' (e.g. '7d'), 'today' or {{start, end}}")


def _is_option(value: Any, options: list[Any]) -> bool:
    # bool is an int in Python: True must not match an option 1.
    return any(type(value) is type(option) and value == option for option in options)


def describe_validation_error(
    error: ValidationError, what: str, model: type[BaseModel] | None = None, prefix: str = ""
) -> str:
    """One readable line from a pydantic error: where, what was wrong, and (given the model) which
    fields it accepts when a field was unknown."""
    parts = []
    for item in error.errors()[:3]:
        where = ".".join([prefix] * bool(prefix) + [str(p) for p in item["loc"]]) or what
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
            if model is not None and len(item["loc"]) == 1:
                message += f" (accepted fields: {', '.join(model.model_fields)})"
        elif item["type"] == "missing":
            message = "required"
        parts.append(f"{where}: {message}")
    return f"invalid {what}: " + "; ".join(parts)


def _literal_values(annotation: Any) -> list[Any]:
    """The values of the `Literal`s in a field's annotation (through unions and `Annotated`)."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    return [value for arg in get_args(annotation) for value in _literal_values(arg)]


def _strip_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def validation_refusal(
    error: ValidationError, what: str, model: type[BaseModel], prefix: str = ""
) -> InvalidRequest:
    """A refusal that says which field, why, and what would be accepted.

    Besides the message, the answer carries `field` (the dotted path of the first
    problem), and when the model knows: `accepted` (the field names, for an unknown
    field; the allowed values, for a value outside a fixed list) and `expected` (the
    JSON Schema of the field).
    """
    first = error.errors()[0]
    loc = [str(p) for p in first["loc"]]
    extra: dict[str, Any] = {"field": ".".join([prefix] * bool(prefix) + loc) or prefix or None}
    top = loc[0] if loc else None
    if first["type"] == "extra_forbidden" and len(loc) == 1:
        extra["accepted"] = list(model.model_fields)
    elif top in model.model_fields:
        values = _literal_values(model.model_fields[top].annotation)
        if values:
            extra["accepted"] = values
        properties = model.model_json_schema().get("properties", {})
        if top in properties:
            extra["expected"] = _strip_titles(properties[top])
    return InvalidRequest(describe_validation_error(error, what, model, prefix), **extra)


def validate_type(block_type: object) -> str:
    """The block type, or a refusal listing the known ones."""
    if block_type not in CONFIG_MODELS:
        raise InvalidRequest(
            f"unknown block type {block_type!r}; use one of: {', '.join(BLOCK_TYPES)}",
            field="type",
            accepted=list(BLOCK_TYPES),
        )
    return str(block_type)


def validate_name(name: object) -> str:
    """A block or source name as SQL uses it: ``[a-z_][a-z0-9_]*``."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > MAX_NAME_LENGTH:
        raise InvalidRequest(
            f"invalid name {name!r}: use lower-case letters, digits and '_', starting with a letter or '_'"
        )
    return name


def validate_config(block_type: str, config: object) -> dict[str, Any]:
    """The normalized config of a block of `block_type`, or `InvalidRequest`."""
    model = CONFIG_MODELS[validate_type(block_type)]
    if not isinstance(config, dict):
        raise InvalidRequest(
            f"config of a {block_type} block must be an object",
            field="config",
            accepted=list(model.model_fields),
        )
    try:
        parsed = model.model_validate(config)
    except ValidationError as error:
        raise validation_refusal(error, f"{block_type} config", model, prefix="config") from None
    return parsed.model_dump(mode="json", exclude_none=True)


def default_value(block_type: str, config: dict[str, Any]) -> Any:
    """A control's value before anyone sets it: its `default`."""
    return config.get("default")


def validate_control_value(block_type: str, config: dict[str, Any], value: object) -> Any:
    """A value the control allows, normalized; `InvalidRequest` otherwise."""
    if block_type == ENUM:
        if not _is_option(value, config["options"]):
            raise InvalidRequest(
                f"{value!r} is not one of the options {config['options']!r}", accepted=config["options"]
            )
        return value
    if block_type == DATERANGE:
        try:
            return DateRangeConfig.model_validate({"default": value}).model_dump(mode="json")["default"]
        except ValidationError as error:
            raise InvalidRequest(describe_validation_error(error, "date range value")) from None
    raise InvalidRequest(f"a {block_type} block is not a control")


def resolve_daterange(value: Any, today: date) -> tuple[date, date]:
    """Both ends (inclusive) of a date range value on `today`."""
    if value == "today":
        return today, today
    if isinstance(value, str):
        match = RELATIVE_DAYS.match(value)
        if not match:
            raise InvalidRequest(f"{value!r} is not a date range")
        return today - timedelta(days=int(match.group(1)) - 1), today
    return date.fromisoformat(value["start"]), date.fromisoformat(value["end"])


def bound_values(block_type: str, name: str, value: Any, today: date) -> dict[str, Any]:
    """The parameters a control binds: ``$name``, plus ``$name_start``/``$name_end`` for a date range."""
    if block_type == DATERANGE:
        start, end = resolve_daterange(value, today)
        return {name: json.dumps(value, sort_keys=True), f"{name}_start": start, f"{name}_end": end}
    return {name: value}


def references(block_type: str, config: dict[str, Any], sql_tables: frozenset[str] = frozenset()) -> set[str]:
    """The names a block reads: `source`, `inputs`, and the tables its SQL reads."""
    names: set[str] = set()
    if block_type in SOURCE_READERS:
        names.add(config["source"])
    if block_type == "sql":
        names.update(config.get("inputs", []))
        names.update(sql_tables)
    return names


def chart_columns(config: dict[str, Any]) -> list[str]:
    """The columns a chart reads of its source, each once: x, the y columns, and `series`."""
    ys = config["y"] if isinstance(config["y"], list) else [config["y"]]
    return list(dict.fromkeys([config["x"], *ys, *([config["series"]] if config.get("series") else [])]))


def chart_stacks(config: dict[str, Any]) -> bool:
    """Whether a chart stacks its series: `stacked` when given; otherwise areas stack and bars
    stand side by side (and line, scatter and histogram never stack)."""
    if config.get("kind") not in STACKING_KINDS:
        return False
    stacked = config.get("stacked")
    return config["kind"] == "area" if stacked is None else bool(stacked)
