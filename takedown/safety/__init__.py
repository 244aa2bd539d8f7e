"""Guards that need nothing of takedown but each other: what outside text may contain, scrubbing
of what platforms answer and of every log record, the outbound HTTP guard, the encryption
keys, and the sandbox every template is rendered in.

Imports nothing of takedown but ``takedown.errors``; ``takedown.config`` validates settings with it.
"""
