"""Cases and their sealed items: the server's whole knowledge of a complaint."""
