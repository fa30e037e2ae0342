"""Image files in and out, and tiled super-resolution with exact seams."""
