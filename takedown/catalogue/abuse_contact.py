"""The stand-in platform of an abuse contact: what a request to the hosting provider of a link
on no known platform is sent as (one email channel, its own deadline and legal bases).
"""

from __future__ import annotations

from takedown.catalogue.schema import Platform

# The platform id of requests to a derived abuse contact. Platform files cannot use it: their
# ids start with a letter or a digit.
ABUSE_CONTACT = "_abuse-contact"
DEADLINE_HOURS = 72.0


def contact_platform(to: str | None = None) -> Platform:
    """The stand-in platform of an abuse contact: one email channel, and the DSA (a hosting
    service in the EU must act on notices) or the provider's acceptable-use policy."""
    platform = Platform.model_validate(
        {
            "id": "abuse-contact",  # validated as a file's id would be, then given its own
            "name": "the hosting provider",
            "legal_bases": ["dsa", "terms"],
            "domains": ["abuse-contact.invalid"],
            "deadline_hours": DEADLINE_HOURS,
            "channels": [{"type": "email", "to": to or "unconfirmed@abuse-contact.invalid"}],
        }
    )
    # One spelling for the requests and the platform they go to: ABUSE_CONTACT.
    return platform.model_copy(update={"id": ABUSE_CONTACT})
