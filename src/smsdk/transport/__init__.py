"""Transports: Twisted protocols over the sans-IO session."""
