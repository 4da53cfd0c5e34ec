"""Texts in both written standards (bokmål and nynorsk) for content models that carry both in one
file, such as the årshjul templates and the survey templates, and the strict base they share.

This module only holds data shapes: no files, no database, no platform.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """A frozen content model that refuses keys it does not know (a typo is an error, not a no-op)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Text(Strict):
    """A text in both written standards."""

    nb: str = Field(min_length=1)
    nn: str = Field(min_length=1)

    def get(self, language: str) -> str:
        return self.nn if language == "nn" else self.nb
