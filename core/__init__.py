"""The foundation every layer above shares: settings, the per-inbox config, the schema,
the database, storing what Chatwoot sends, knowledge, autonomy and working hours."""
