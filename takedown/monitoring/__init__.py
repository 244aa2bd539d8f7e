"""After a request went out: checking links, confirming removal, noticing reappearance,
deadlines and escalation, the nightly run and per-host politeness.

Imports ``delivery`` and below.
"""
