"""Canvas: the REST client (client/, no Flask) and the stored teacher connections."""
