"""The warehouse PostgreSQL: connections and SQL files by name (`db`), migrations, and bulk COPY (`bulk`)."""
