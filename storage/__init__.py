"""Persistence: SQLAlchemy 2 async models, repositories and Alembic migrations.

SQLite (aiosqlite, WAL) is the embedded default, PostgreSQL (asyncpg) the production database. Only
repositories in this package issue SQL; callers get plain values back.
"""
