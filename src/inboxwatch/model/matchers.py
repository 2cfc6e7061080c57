"""Label matchers in Alertmanager syntax: `name=value`, `name!=value`, `name=~regex`, `name!~regex`.

Used by routes, silences and inhibition rules. A label the alert lacks
compares as "", so `sending_ip=""` matches alerts without a sending IP. A
regular expression must match the whole value, as in Alertmanager.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping

EQUAL = "="
NOT_EQUAL = "!="
REGEX = "=~"
NOT_REGEX = "!~"

# Longest operators first, so "=~" is not read as "=" followed by "~".
OPERATORS = (REGEX, NOT_REGEX, NOT_EQUAL, EQUAL)

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class MatcherError(ValueError):
    """A matcher could not be parsed."""


@dataclasses.dataclass(frozen=True)
class Matcher:
    """One condition on one label."""

    name: str
    operator: str
    value: str
    pattern: re.Pattern[str] | None = dataclasses.field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.operator == EQUAL:
            return actual == self.value
        if self.operator == NOT_EQUAL:
            return actual != self.value
        assert self.pattern is not None
        found = self.pattern.fullmatch(actual) is not None
        return found if self.operator == REGEX else not found

    def __str__(self) -> str:
        return "%s%s%s" % (self.name, self.operator, quote(self.value))


def make_matcher(name: str, operator: str, value: str) -> Matcher:
    """Build a matcher; raise MatcherError for a bad label name, operator or regular expression."""
    if not NAME_PATTERN.match(name):
        raise MatcherError("invalid label name %r: expected letters, digits and '_', not starting with a digit" % name)
    if operator not in OPERATORS:
        raise MatcherError("invalid operator %r: expected one of =, !=, =~, !~" % operator)
    pattern = None
    if operator in (REGEX, NOT_REGEX):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise MatcherError("invalid regular expression %r for label %s: %s" % (value, name, exc)) from None
    return Matcher(name, operator, value, pattern)


def parse_matcher(text: str) -> Matcher:
    """Parse `name=value`, `name!=value`, `name=~regex` or `name!~regex`; the value may be double-quoted."""
    stripped = text.strip()
    for index, character in enumerate(stripped):
        if character not in "=!":
            continue
        operator = next((op for op in OPERATORS if stripped.startswith(op, index)), None)
        if operator is None:
            break
        name = stripped[:index].strip()
        value = unquote(stripped[index + len(operator) :].strip())
        return make_matcher(name, operator, value)
    raise MatcherError(
        'invalid matcher %r: expected name=value, name!=value, name=~regex or name!~regex, such as severity="critical"' % text
    )


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(text) for text in texts)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(matcher.matches(labels) for matcher in matchers)


def memoized_matcher(matchers: Iterable[Matcher]) -> Callable[[Mapping[str, str]], bool]:
    """Return `matches_all` for `matchers` that evaluates each distinct value of the labels they read once.

    Meant for one pass over many alerts, which share few values of the
    labels that routes, silences and inhibition rules match on. The memo
    grows with the number of distinct values and lives as long as the
    returned function.
    """
    matchers = tuple(matchers)
    if not matchers:
        return lambda labels: True
    names = tuple(dict.fromkeys(matcher.name for matcher in matchers))
    results: dict[object, bool] = {}

    if len(names) == 1:
        # The common case, such as rule="..." or severity="...": the value is the key.
        (name,) = names

        def matches_one(labels: Mapping[str, str]) -> bool:
            found = results.get(labels.get(name, ""))
            if found is None:
                found = results[labels.get(name, "")] = matches_all(matchers, labels)
            return found

        return matches_one

    def matches(labels: Mapping[str, str]) -> bool:
        key = tuple([labels.get(name, "") for name in names])
        found = results.get(key)
        if found is None:
            found = results[key] = matches_all(matchers, labels)
        return found

    return matches


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def quote(value: str) -> str:
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
