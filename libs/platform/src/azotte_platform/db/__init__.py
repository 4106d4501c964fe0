"""Database mechanics: engine, unit of work, platform tables, migrations, pagination."""
