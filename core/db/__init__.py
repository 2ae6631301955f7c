"""Database layer: typed ORM models, engine setup, browse queries."""
