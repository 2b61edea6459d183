"""Signpost application: settings, answer pipeline, web app and CLI."""
