"""The public REST API (FastAPI), served by uvicorn inside the gateway process."""
