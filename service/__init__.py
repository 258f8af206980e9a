"""Plumbing shared by the worker and the CLI: settings, logging, the Temporal client."""
