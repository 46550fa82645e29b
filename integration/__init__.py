"""What every edge to an outside service (Chatwoot, Claude) shares: the error base."""
