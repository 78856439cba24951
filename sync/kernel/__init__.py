"""The shared kernel: what the hall, central and the simulators all mean by a hall's business.

Business configuration (`business`, `configfile`), the regulation calendar (`calendar`), the
injected clock (`clock`), password hashing (`passwords`) and the HTTP runner (`serve`). Nothing
here knows about MQTT, peewee or Litestar routes; everything else may import it.
"""
