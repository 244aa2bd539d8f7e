"""The relational store, the single source of truth: engine and sessions, the models, the
states rows move through, migrations, the audit log and key rotation.

Imports ``config`` and ``safety`` only.
"""
