"""Demonstration pathways: library, menus, the demonstration lifecycle, review, student pages."""
