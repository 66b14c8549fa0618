"""What keeps the scroller websocket safe and alive: channel-layer outages, message limits, session checks."""
