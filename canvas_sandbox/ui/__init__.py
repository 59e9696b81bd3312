"""The Canvas-like pages people click through: user switcher, courses, accounts, developer keys."""
