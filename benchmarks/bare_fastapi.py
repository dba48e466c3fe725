"""The baseline for benchmarks/slots_load.py: one trivial JSON endpoint, served by uvicorn exactly
as `slot211 serve` serves the API (one worker, no access log), so the ratio isolates our work."""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.post("/v1/quotes")
def quotes(body: dict) -> dict:
    """Echo the order id, as cheaply as FastAPI allows."""
    return {"results": [{"order_id": body.get("id"), "slots": []}]}


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8212)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, workers=1, access_log=False,
                server_header=False, log_level="warning")


if __name__ == "__main__":
    main()
