"""The gpiozero mock pins behind a simulated hall's devices, for tests that drive or read them."""

from __future__ import annotations


def mock_pin(hw, name: str):
    """The `MockPin` of the hall's pin `name`: its number comes from the hall configuration, the
    pin from the `MockFactory` the hardware runs on (`Hardware.factory`)."""
    return hw.factory.pin(hw.cfg.pins[name].pin)
