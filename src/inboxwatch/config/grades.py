"""The `[grades]` section: benchmark tables that replace the built-in defaults of `inboxwatch grades`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inboxwatch.config.durations import Rate
from inboxwatch.model.providers import Provider

GradedMetric = Literal["delivery_rate", "bounce_rate", "complaint_rate"]


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class GradeTable(Section):
    """The limits of grades A to D for one metric; past `d` the grade is F.

    `direction` "above" means a rate above a limit loses the grade (bounce,
    complaint); "below" means a rate below it does (delivery).
    """

    direction: Literal["above", "below"]
    a: Rate
    b: Rate
    c: Rate
    d: Rate
    source: str = "configuration file"
    guidance: str = ""
    guidance_level: Rate | None = None
    advice: str = ""

    @model_validator(mode="after")
    def check_order(self) -> GradeTable:
        limits = [self.a, self.b, self.c, self.d]
        ordered = sorted(limits) if self.direction == "above" else sorted(limits, reverse=True)
        if limits != ordered:
            expected = "a <= b <= c <= d" if self.direction == "above" else "a >= b >= c >= d"
            raise ValueError("grade limits %s are out of order: expected %s" % (limits, expected))
        return self


class GradesSettings(Section):
    days: int = Field(default=7, ge=1, le=366)
    # Providers with fewer sent (or, for complaints, delivered) messages get no grade.
    min_volume: int = Field(default=500, ge=1)
    metrics: dict[GradedMetric, GradeTable] = Field(default_factory=dict)
    providers: dict[Provider, dict[GradedMetric, GradeTable]] = Field(default_factory=dict)
