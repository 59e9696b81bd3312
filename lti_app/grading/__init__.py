"""A course's evidence turned into levels: the read model behind the grid, drill-down and export."""
