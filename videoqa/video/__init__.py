"""Video reading (PyAV), frame samplers and the grid composer."""
