"""The lifecycle repositories over one connection (SQLAlchemy Core), one module per aggregate."""
