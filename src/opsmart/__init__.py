"""opsmart: exact, incremental analytics marts over the platform's PostgreSQL ops schema."""

__version__ = "0.1.0"
