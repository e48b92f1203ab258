"""The domain: what the bot knows and decides, pure and free of I/O beyond reading its own data files.

Imports nothing else of the project (docs/ARCHITECTURE.md).
"""
