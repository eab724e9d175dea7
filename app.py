"""Gradio chat (placeholder until the UI issue lands): `python app.py`."""

if __name__ == "__main__":
    raise SystemExit("L'interface web arrive bientôt ; utilisez « rag ask » en attendant.")
