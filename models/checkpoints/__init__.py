"""The self-describing checkpoint: its file format, what one holds and costs, its gradient ERF, the shipped ones."""
