"""An engine on a server the user runs: llama.cpp's server, or any
OpenAI-compatible one (vLLM, Ollama, llama-cpp-python's server).

Same interface as the embedded engine, and the same cancellation: answers
are streamed, and a cancel shuts the connection's socket from the
cancelling thread, so the read in progress ends at once and the server,
seeing the client gone, stops generating (llama.cpp's server and vLLM do;
llama-cpp-python's at its next token). A stop decided here (a finished
line, the time budget) closes the stream the same way.

config.py says where the server is; http.py talks to it (connections,
streams, outages and their back-off); events.py reads what its streamed
events say; engine.py is RemoteEngine, which writes the requests.
"""
