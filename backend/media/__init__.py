"""Media: customers' photos, voice notes, videos and documents, fetched at once and stored by hash;
agents' uploads, sent back through the provider."""
