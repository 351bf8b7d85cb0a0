"""Models, the llama.cpp engine, FIM formats and the scheduler in front of them."""
