"""Ballast TUI: terminal-native, reactive, collaborative dashboards."""

__version__ = "0.1.0"
