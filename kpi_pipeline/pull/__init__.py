"""Pull the CRM extracts from the tools' APIs into the landing zone (docs/pull.md)."""
