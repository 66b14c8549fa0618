"""The page of one image: what it shows, and the display-sized picture it shows."""
