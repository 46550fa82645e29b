"""Offline tools on Wingman's data: export, the history import from Chatwoot, forgetting a
contact. Plain functions of a session or an engine; ``bot.commands`` wraps them for the
CLI, and tests call them directly."""
