"""Local HTTP stand-ins for Claude and Chatwoot, for integration tests and `make demo`.

They are clearly labelled stand-ins, never a real service.
"""
