"""`opsplan serve`: the collection loop, the store and the web endpoints in one process."""
