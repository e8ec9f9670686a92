"""The integration routes are described with real types and examples in the OpenAPI schema."""

from __future__ import annotations

import httpx


async def test_the_schema_describes_the_integration_routes(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/api-keys", "post"), ("/api/v1/api-keys/{key_id}", "delete"),
        ("/api/v1/messages", "post"), ("/api/v1/messages/batch", "post"),
        ("/api/v1/messages/{message_id}", "get"), ("/api/v1/webhook-endpoints", "post"),
        ("/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret", "post"),
        ("/api/v1/webhook-endpoints/{endpoint_id}/deliveries", "get"),
        ("/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver", "post"),
    ]:  # fmt: skip
        assert method in paths[path], (path, method)
    components = schema["components"]["schemas"]
    request = components["MessageRequest"]
    assert request["properties"]["to"]["type"] == "string"
    body = paths["/api/v1/messages"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["examples"][0]["template"]["name"] == "order_confirmation"
    accepted = paths["/api/v1/messages"]["post"]["responses"]["202"]["content"]
    assert accepted["application/json"]["schema"]["$ref"].endswith("MessageAccepted")
    assert "secret" in components["EndpointCreated"]["properties"]
    assert "attempts" in components["DeliveryView"]["properties"]
