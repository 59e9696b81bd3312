"""Versioned proficiency scales and district/course calculation policy; the admin page."""
