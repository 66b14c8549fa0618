"""Re-analysing the colours of stored images from their originals, after the analysis has changed."""
