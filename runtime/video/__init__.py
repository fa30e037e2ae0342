"""Video super-resolution: decode -> Y-plane SR -> encode through PyAV, audio and tags kept (``edgeconv[video]``)."""
