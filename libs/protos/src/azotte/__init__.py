"""Generated protobuf and gRPC code of the Azotte APIs (run `make gen`)."""
