"""The ``hr`` command line: one module per command group, their shared support and rendering,
the CSV readers and writers, and the scripted demos. Commands parse, call the client, render;
no business rule lives here (DESIGN section 3)."""
