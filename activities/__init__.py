"""All I/O: the store, notifications, documents, directory look-ups."""
