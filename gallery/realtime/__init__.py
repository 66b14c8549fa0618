"""What every kind of scroller stream shares: the Stream interface, loading images for sending, and the live-event rules."""
