"""Everything that touches Chatwoot: event parsing, the signature check and the REST client."""
