"""The back ends behind one interface (``base.Backend``) and the one registry that knows them."""
