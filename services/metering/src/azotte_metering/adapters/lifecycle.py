"""The lifecycle service over gRPC, as `billing_ports.Lifecycle`: a subscription's plan changed once per request id."""

from __future__ import annotations

import grpc

from azotte.lifecycle.v1 import lifecycle_pb2, lifecycle_pb2_grpc


class GrpcLifecycle:
    """Lifecycle over gRPC (`connect(settings.lifecycle_addr)`), in the tenant of the request context."""

    def __init__(self, channel: grpc.aio.Channel):
        self._stub = lifecycle_pb2_grpc.LifecycleServiceStub(channel)

    async def change_plan(self, *, subscription_id: str, plan_id: str, request_id: str) -> None:
        await self._stub.ChangeSubscriptionPlan(
            lifecycle_pb2.ChangeSubscriptionPlanRequest(
                request_id=request_id,
                subscription_id=subscription_id,
                plan_id=plan_id,
                timing=lifecycle_pb2.PLAN_CHANGE_TIMING_IMMEDIATE,
            )
        )
