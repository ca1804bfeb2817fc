"""Links through a Toxiproxy-API server: the embedded server, a typed client, server choice."""
