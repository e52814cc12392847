"""Public types of the streaming contract."""
