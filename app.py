"""The web UI for people who never open a terminal.

    python app.py [--corpus DIR] [--index DIR] [--host H] [--port N]

Same as ``rag ui``: serves the chat on http://127.0.0.1:7860/ (loopback only
unless ``--host`` says otherwise), building the index from ``--corpus`` on
first use. The UI itself is ``rag.ui.ChatUI``; this file only launches it.
"""

import os
import sys

# Before gradio is imported anywhere: no analytics call home, no model hub.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.cli import ui_cmd  # noqa: E402

if __name__ == "__main__":
    ui_cmd(sys.argv[1:], prog_name="python app.py")
