"""The speech wing: call recordings -> transcript, summary, quality inspection.

Local speech-to-text (vosk) in worker processes, no network. See README.md
in this folder for the modules and their interfaces.
"""
