"""One hierarchy for every error a person can act on.

```
TakedownError        the message is UI text: a caseworker, an operator or an integrator reads it
├── InputError       input that cannot be used; ``field`` names it ("victim_email", "urls")
├── NotFound         no case, request or alert with that id or reference
├── Conflict         not in a state that allows this (a request being sent, a closed case)
├── NotAllowed       the acting person may not do this
└── ConfigError      the operator must fix a setting or a key
    ├── DataFileError    a platform file or a legal data file that cannot be used
    └── RenderError      a template or a platform field that cannot be rendered, or a notice
                         that lacks an element its legal basis requires
```

Messages name the *field* (``victim_email``), never how one door spells it: each door maps
an error once, in one table, to its own words and codes (the CLI: ``--victim-email: …`` and
exit status 1, in ``takedown.cli.errors``). A message that must name its own field mid-sentence
writes ``{field}``, which the door replaces with its spelling (and then does not put the
field's name in front as well).

Not here, on purpose: exceptions that never leave the code that raises them. The outbound
guard's refusals must subclass ``requests``' own to travel through its adapters
(``takedown.safety.netguard``); a host whose politeness slot stays taken, an RDAP lookup that
failed (it becomes a sentence for the caseworker) and a header that would carry a line break
are each caught where they are raised.
"""

from __future__ import annotations


class TakedownError(Exception):
    """An error whose message is meant for a person; ``field`` is what it is about, if one
    field of the input is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def words(self, field_name: str | None = None) -> str:
        """The message, with ``{field}`` spelt as the reader's door spells the field."""
        name = field_name or self.field or ""
        return self.message.replace("{field}", name)

    def __str__(self) -> str:
        words = self.words()
        return f"{self.field}: {words}" if self.field else words


class InputError(TakedownError):
    """Input that cannot be used. ``index`` is the 1-based position of the value in a list
    (the third of ten links), and ``value`` the value itself, for a door to quote it."""

    def __init__(
        self,
        message: str,
        *,
        field: str,
        index: int | None = None,
        value: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.index = index
        self.value = value


class NotFound(TakedownError):
    """No case, request or alert with that id or reference."""


class Conflict(TakedownError):
    """The case or request is not in a state that allows this; the message says which state,
    and what would."""


class NotAllowed(TakedownError):
    """The acting person may not do this."""


class ConfigError(TakedownError):
    """The operator must fix a setting, a key or a data file; the message names it."""


class DataFileError(ConfigError):
    """A platform file or a legal data file that cannot be used; the message names the file
    and, where it is known, the line or the field."""


class RenderError(ConfigError):
    """A template or a platform field that cannot be rendered, or a notice that lacks an
    element its legal basis requires: a permanent failure for a request."""
