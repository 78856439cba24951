"""What crosses the wire between a hall and central: event bodies (`events`) and MQTT payloads
with their topics (`wire`). Both ends decode with these strict msgspec types."""
