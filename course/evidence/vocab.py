"""Controlled vocabularies for incident records.

A fixed list of terms keeps records comparable: "arbitrary detention" entered three ways is
three categories to a computer. Acts are named by category only, never by injury (the course's
no-graphic-detail rule).
The scenario's incident reports use these same terms; a test checks that they agree.
"""

from __future__ import annotations

ACT_TYPES = (
    "threats-intimidation",
    "arbitrary-detention",
    "destruction-of-property",
    "restriction-of-movement",
    "forced-displacement",
    "enforced-disappearance",
    "denial-of-humanitarian-access",
    "unlawful-killing",
)

PERPETRATOR_TYPES = ("army", "police", "militia", "local officials", "unidentified armed men")

# How the information reached the documenter (HURIDOCS links sources to events "through
# information"). Only testimony comes from a person speaking to us, so only it needs consent.
INFORMATION_TYPES = ("testimony", "document", "open-source", "observation", "media-report")

SOURCE_TYPES = ("witness", "community-group", "local-ngo", "humanitarian", "media", "official",
                "social-media")

VOCABULARIES = {
    "act_type": ACT_TYPES,
    "perpetrator_type": PERPETRATOR_TYPES,
    "information_type": INFORMATION_TYPES,
    "source_type": SOURCE_TYPES,
}


def check_term(field: str, value: object, vocabularies: dict | None = None) -> str | None:
    """None if ``value`` is a known term for ``field``; otherwise a message saying what to use."""
    terms = (vocabularies or VOCABULARIES)[field]
    if value in terms:
        return None
    return f"{field}: {value!r} is not a known term; use one of {', '.join(terms)}"
