"""gRPC mechanics: server bootstrap, interceptors, error mapping, clients."""
