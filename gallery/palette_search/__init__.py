"""Searching by several colours at once: "60% teal and 20% orange", ranked by how well each image's palette covers them."""
