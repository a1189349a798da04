"""Moving data between hubs and a central server; the hybrid logical clock events order by."""
