"""PostgreSQL repositories (SQLAlchemy Core), one module per aggregate."""
