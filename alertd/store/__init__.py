"""The store: PostgreSQL through asyncpg, the embedded server, migrations, named SQL, COPY.

Everything else reaches the database through what this package opens (``database.open_database``)
and the queries it names (``queries.queries``); it knows no domain rule of its own.
"""
