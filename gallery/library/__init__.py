"""What every living image looks like, in memory per server process: for mosaics and "more like this"."""
