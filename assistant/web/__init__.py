"""The front ends: one process serving the web UI, the REST and OpenAI-compatible APIs and the
WeChat callbacks over one AppState; each only renders the Answer the core gives it."""
