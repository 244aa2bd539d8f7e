"""Local stand-ins for the outside world, shared by ``takedown demo`` and the tests.

They are real servers on loopback (HTTP and SMTP), never mocks: the code under test talks
to them over real sockets exactly as it would to a platform.
"""
