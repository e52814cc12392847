"""The emit path, the codec, the span processor and configuration."""
