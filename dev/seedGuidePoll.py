"""One poll of the seed guide's Python sample, run as written, for `npm run bench`.

The sample is not copied into this project: its code block is read from the guide at run time and executed
unchanged. Only what the guide leaves to its reader is set: the settings it reads from the environment
(given by the caller), the Moveworks address (a constant in the sample, pointed here at the simulator), its
SQLite file (in a fresh temporary folder) and its prints (silenced, as a server's log would not slow it).

Usage: python3 seedGuidePoll.py GUIDE MOVEWORKS_BASE_URL  -> prints the poll's seconds.
"""
import asyncio
import os
import re
import sys
import tempfile
import time

guide_path, moveworks_base_url = sys.argv[1], sys.argv[2]
with open(guide_path, encoding="utf-8") as guide:
    sample = re.search(r"```python\n(.*?)```", guide.read(), re.S).group(1)
os.chdir(tempfile.mkdtemp())
module = {"__name__": "seed_guide"}
exec(compile(sample, "seed_guide.py", "exec"), module)
module["MOVEWORKS_BASE_URL"] = moveworks_base_url
module["print"] = lambda *args, **kwargs: None
started = time.perf_counter()
asyncio.run(module["poll_approvals"]())
print(f"{time.perf_counter() - started:.3f}")
