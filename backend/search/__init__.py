"""Full-text search of messages and contacts, with the database's own index, within visibility."""
