"""Every change a person makes to a case, called the same way by each door (CLI, API, web):
opening, adding links, queueing, acting on requests, reading, closing and erasing.

Imports ``monitoring``, ``contacts`` and below.
"""
