"""scroller-cli: upload, sync and manage images on a Scroller server from the command line."""
