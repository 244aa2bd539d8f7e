"""What takedown knows about the world, read from data files: platform files and their schema,
matching a link to a platform, the legal bases and the deadlines they set, the stand-in of
an abuse contact, and escalation targets.

Imports ``store`` (for the rows it reads facts from) and below.
"""
