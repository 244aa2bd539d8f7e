"""Getting one removal request to its platform: the request life cycle on rows, the claim,
preparing the notice, sending it, recording the outcome with back-off, the sending lease,
and the sweeper that finds requests that should be moving.

Imports ``messages``, ``notices``, ``channels`` and below.
"""
