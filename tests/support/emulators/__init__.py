"""Protocol-faithful stand-ins for the outside services (Deepgram, Mavera), served on loopback."""
