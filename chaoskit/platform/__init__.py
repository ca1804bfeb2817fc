"""Platforms: what runs instances and can kill, pause and restore them (``local``, ``docker``)."""
