"""A strict Amazon Bedrock Runtime stand-in for the end-to-end tests.

Run it with ``python -m standin --port 9099`` (tests/ on PYTHONPATH) or start it
in-process with :func:`standin.server.start_in_thread`.
"""
