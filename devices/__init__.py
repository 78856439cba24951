"""Adapters to the hall's hardware. The only package that imports pyserial and gpiozero.

- `devices.frames`: the badge readers' wire protocols (`rdm6300`, `line`): parsers and encoders;
- `devices.badge`: a serial badge reader on its own thread (pyserial), reopened with backoff;
- `devices.gpio`: lamps, buttons, door contacts and power-sense inputs (gpiozero), debounced;
- `devices.ptyport`: a pseudo-terminal standing in for a reader's serial port (simulation).

Everything here turns hardware into plain callbacks (a card was read, a button was pressed, a
device failed or recovered); `edge.hardware` turns those into hall commands.
"""
