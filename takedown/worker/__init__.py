"""The Celery app, its thin tasks (load by id, call, record) and publishing ids to the broker.

Imports ``cases`` and below.
"""
