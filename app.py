"""Start the assistant: web UI at /, REST API at /api (docs at /docs), OpenAI-compatible API at /v1.

    python app.py [--host 127.0.0.1] [--port 7860]
"""
from assistant.web.server import main

if __name__ == "__main__":
    main()
