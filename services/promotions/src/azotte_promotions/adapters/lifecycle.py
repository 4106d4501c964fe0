"""`ports.TrialExtensions` over lifecycle's gRPC API, in the tenant of the request context."""

from __future__ import annotations

import grpc

from azotte.lifecycle.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from azotte_platform.errors import FailedPrecondition, NotFound


class GrpcTrialExtensions:
    """Lifecycle's ExtendTrial."""

    def __init__(self, lifecycle: grpc.aio.Channel):
        self._stub = lifecycle_pb2_grpc.LifecycleServiceStub(lifecycle)

    async def extend_trial(self, request_id: str, subscription_id: str, days: int) -> bool:
        request = lifecycle_pb2.ExtendTrialRequest(request_id=request_id, subscription_id=subscription_id, days=days)
        try:
            await self._stub.ExtendTrial(request)
        except (FailedPrecondition, NotFound):
            # NOTE: the trial converted, expired or was cancelled meanwhile: nothing to extend.
            return False
        return True
