"""Links on no known platform: who hosts them (RDAP), and requests to that abuse address,
confirmed by a caseworker first.

Imports ``delivery`` and below.
"""
