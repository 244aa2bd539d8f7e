"""Messages to people, as opposed to notices to platforms: the victim's progress emails and the
caseworkers' alerts. Both are rows first (an outbox), sent later by a worker.

Imports ``channels`` (for email) and below.
"""
