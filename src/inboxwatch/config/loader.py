"""Reading the configuration file into a validated `Config`.

The built-in rules in `default_rules.toml` are merged under the file's
`[rules]` tables before validation, so a user table changes only the keys it
sets. Validation errors become one `ConfigError` that lists every problem as
"key path: what is wrong", with the closest known key for a misspelt one.
"""

from __future__ import annotations

import copy
import difflib
import logging
import tomllib
import types
import typing
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from inboxwatch.config.models import Config
from inboxwatch.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_CONFIG_NAME = "inboxwatch.toml"


def load_config(path: str | Path) -> Config:
    """Read and validate the TOML file at `path`.

    Relative paths in the file (sources, an SQLite store) are taken from the
    file's folder, so the service finds them whatever its working directory.
    Raises `ConfigError` naming the file for a missing or unreadable file,
    the line for a TOML syntax error, and the key path for invalid values.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "cannot read configuration file %s: file not found; create one with `inboxwatch init %s`" % (path, path)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("cannot read configuration file %s: %s" % (path, exc)) from exc

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message of TOMLDecodeError ends with "(at line N, column M)".
        raise ConfigError("invalid TOML in configuration file %s: %s" % (path, exc)) from exc

    config = validate_config(data, source=str(path))
    log.debug("configuration loaded from %s with %d rules", path, len(config.rules))
    return resolve_paths(config, path.resolve().parent)


def default_config() -> Config:
    """Return the configuration used when there is no file: every default, the built-in rules."""
    return validate_config({}, source="the built-in defaults")


def validate_config(data: Mapping[str, Any], *, source: str) -> Config:
    """Validate parsed TOML `data` merged over the built-in rules; `source` names it in errors."""
    merged = dict(data)
    if "rules" in merged and not isinstance(merged["rules"], Mapping):
        raise ConfigError("invalid configuration in %s:\n  rules: expected a table of rules, got %r" % (source, merged["rules"]))
    merged["rules"] = merge_tables(default_rules(), merged.get("rules", {}))
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        problems = "\n".join("  " + describe_error(error) for error in exc.errors())
        raise ConfigError("invalid configuration in %s:\n%s" % (source, problems)) from None


def default_rules() -> dict[str, Any]:
    text = resources.files("inboxwatch.config").joinpath("default_rules.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["rules"]


def merge_tables(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `override` into a copy of `base`: tables merge key by key, other values replace."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_tables(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_paths(config: Config, folder: Path) -> Config:
    """Make source paths and a relative SQLite store path absolute against `folder`."""
    store = config.store.model_copy(update={"url": resolve_store_url(config.store.url, folder)})
    logs = tuple(source.model_copy(update={"path": str(folder / source.path)}) for source in config.sources.logs)
    folders = tuple(source.model_copy(update={"path": str(folder / source.path)}) for source in config.sources.folders)
    maildirs = tuple(source.model_copy(update={"path": str(folder / source.path)}) for source in config.sources.maildirs)
    imap = tuple(
        source.model_copy(update={"ca_file": str(folder / source.ca_file)}) if source.ca_file else source
        for source in config.sources.imap
    )
    sources = config.sources.model_copy(update={"logs": logs, "folders": folders, "maildirs": maildirs, "imap": imap})
    return config.model_copy(update={"store": store, "sources": sources})


def resolve_store_url(url: str, folder: Path) -> str:
    """Return `url` with a relative SQLite file path made absolute; other URLs are returned unchanged."""
    if "://" not in url:
        return str(folder / url)
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    database = url[len(prefix) :]
    # "sqlite:///" followed by "/" is an absolute path; ":memory:" is no file.
    if not database or database.startswith("/") or database.startswith(":memory:"):
        return url
    return prefix + str(folder / database)


def describe_error(error: Mapping[str, Any]) -> str:
    """Turn one pydantic error into "key.path: what is wrong", suggesting a key for an unknown one."""
    location = tuple(error["loc"])
    key_path = format_key_path(location)
    if error["type"] == "extra_forbidden":
        known = known_keys(location[:-1])
        unknown = str(location[-1])
        suggestion = difflib.get_close_matches(unknown, known, n=1, cutoff=0.6)
        hint = "did you mean %r?" % suggestion[0] if suggestion else "known keys: %s" % ", ".join(sorted(known))
        return "%s: unknown key; %s" % (key_path, hint)
    if error["type"] == "missing":
        return "%s: missing required key" % key_path
    if error["type"] == "union_tag_invalid":
        context = error.get("ctx", {})
        return "%s.%s: invalid value %r: expected one of %s" % (
            key_path,
            context.get("discriminator", "type").strip("'"),
            context.get("tag"),
            context.get("expected_tags"),
        )
    message = str(error["msg"])
    for prefix, replacement in (("Value error, ", ""), ("Input should be ", "expected ")):
        if message.startswith(prefix):
            message = replacement + message[len(prefix) :]
    if not location:
        return message
    if isinstance(error.get("input"), Mapping):
        return "%s: %s" % (key_path, message)
    return "%s: invalid value %r: %s" % (key_path, error.get("input"), message)


def format_key_path(location: tuple[Any, ...]) -> str:
    """Write a pydantic location the way the file spells it: `routes[0].channels`, `rules.x.for`."""
    text = ""
    model: Any = Config
    for part in location:
        model, written = step_into(model, part)
        if not written:
            continue
        if isinstance(part, int):
            text += "[%d]" % part
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def known_keys(location: tuple[Any, ...]) -> list[str]:
    """List the keys allowed in the table at `location`, by walking the models."""
    model: Any = Config
    for part in location:
        model, _written = step_into(model, part)
    model = strip_optional(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


def step_into(annotation: Any, part: Any) -> tuple[Any, bool]:
    """Return the type found at `part` inside `annotation`, and whether `part` is written in the file.

    Pydantic adds parts that are not keys: the tag of a discriminated union
    (`email` in `channels[0].email.port`) and `[key]` for dictionary keys.
    """
    annotation = strip_optional(annotation)
    if part == "[key]":
        return None, False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation, True
        return None, True
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (tuple, list) and arguments:
        return arguments[0], True
    if origin is dict and len(arguments) == 2:
        return arguments[1], True
    if origin in (typing.Union, types.UnionType):
        for member in arguments:
            tag = getattr(member, "model_fields", {}).get("type")
            if tag is not None and tag.default == part:
                return member, False
    return None, True


def strip_optional(annotation: Any) -> Any:
    """Unwrap `Annotated[...]` and drop `None` from `X | None`."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        if len(members) == 1:
            return strip_optional(members[0])
    return annotation
