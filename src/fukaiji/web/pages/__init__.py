"""Server-rendered HTML pages (Japanese)."""
