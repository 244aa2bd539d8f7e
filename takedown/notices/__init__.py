"""The one notice builder: the context a notice may use, rendering under its legal basis, and
the check that every element the basis requires is there. Delivery, ``notice preview``,
``notice lint`` and ``platforms check`` all build notices here.

Imports ``catalogue`` and below.
"""
