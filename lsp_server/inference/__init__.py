"""Running a model: the contract (api.py), the embedded engine (llama/),
remote engines (remote/), FIM formats, models, and the scheduler in front."""
