"""One module per repository of the gateway (SQLAlchemy Core over the unit of work's connection)."""
