"""Scale-out on Ray (``pip install 'edgeconv[cluster]'``): start or join a cluster, and upscale a folder there.

Torch-free like the rest of the runtime; Ray is imported only when a command asks for it (``--ray``).
"""
