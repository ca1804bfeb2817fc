"""Shared plumbing of the target services: config, app factory, metrics, upstream pool."""
